// The zkiris Android library: the UniFFI-generated bindings (src/main/kotlin/dev/zkiris/ffi),
// the idiomatic layer (src/main/kotlin/dev/zkiris: suspend prove, Flow progress), Android-only
// helpers (src/android/kotlin: Keystore keys), and the Rust library per ABI in
// src/main/jniLibs/{arm64-v8a,armeabi-v7a,x86_64}/libzkiris_ffi.so (scripts/build-android.sh).
//
// Published as the Maven artifact dev.zkiris:zkiris-android (an AAR whose POM declares JNA as an
// aar and kotlinx-coroutines-android, so an app gets them transitively):
//   ./gradlew :zkiris:publishReleasePublicationToLocalRepository   -> zkiris/build/repo/
//   ./gradlew :zkiris:publishToMavenLocal                          -> ~/.m2/repository/
// Publishing to a remote repository needs its `repositories { maven { ... } }` entry and
// credentials, which are not part of this repository.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    `maven-publish`
}

// The workspace version (Cargo.toml [workspace.package]); scripts/check-packaging.sh checks that
// they are equal.
group = "dev.zkiris"
version = "0.1.0"

android {
    namespace = "dev.zkiris"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
        }
    }

    sourceSets {
        getByName("main") {
            java.srcDirs("src/main/kotlin", "src/android/kotlin")
            jniLibs.srcDirs("src/main/jniLibs")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    packaging {
        jniLibs {
            // Strip nothing further: the release libraries are already stripped by cargo.
            keepDebugSymbols += "**/libzkiris_ffi.so"
        }
    }

    // The software component "release" that the publication below is made from.
    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

kotlin {
    jvmToolchain(17)
}

// These become the POM's dependencies (`api` -> scope compile). They must equal
// pom-dependencies.expected: scripts/check-packaging.sh compares this block with it on every test
// run (Gradle cannot run on the CI machine), and the POM check below compares the POM that Gradle
// generates with it. The versions are android/jvm-tests/pom.xml's, which the JVM tests use.
dependencies {
    // JNA with its native dispatch library per ABI (the @aar artifact; in the POM <type>aar</type>).
    // `api`: the generated bindings' public classes extend JNA types (RustBuffer is a JNA Structure).
    api("net.java.dev.jna:jna:5.17.0@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
}

// AGP creates the "release" component only once this script is evaluated, so the publication is
// made in afterEvaluate (the Android Gradle plugin's documented pattern).
afterEvaluate {
    publishing {
        publications {
            create<MavenPublication>("release") {
                from(components["release"])
                groupId = "dev.zkiris"
                artifactId = "zkiris-android"
                version = project.version.toString()
                pom {
                    name.set("zkiris")
                    description.set(
                        "Proofs that an iris code was derived from an enrolled image (halo2), for Android: " +
                            "Kotlin API over the zkiris Rust library (arm64-v8a, armeabi-v7a, x86_64)."
                    )
                    url.set("https://github.com/zkiris/zkiris")
                    licenses {
                        license {
                            name.set("MIT")
                            url.set("https://opensource.org/licenses/MIT")
                        }
                        license {
                            name.set("Apache-2.0")
                            url.set("https://www.apache.org/licenses/LICENSE-2.0")
                        }
                    }
                    scm {
                        url.set("https://github.com/zkiris/zkiris")
                    }
                    // Fails generatePomFileForReleasePublication (and so every publish task) if a
                    // dependency of pom-dependencies.expected is missing from the generated POM or
                    // has another version, type or scope. Gradle may add others (kotlin-stdlib from
                    // the Kotlin plugin): those are printed, not rejected.
                    withXml {
                        val expected = file("pom-dependencies.expected").readLines()
                            .map { it.trim() }
                            .filter { it.isNotEmpty() && !it.startsWith("#") }
                        val nodes = asElement().getElementsByTagName("dependency")
                        val actual = (0 until nodes.length).map { i ->
                            val dep = nodes.item(i) as org.w3c.dom.Element
                            // A dependency's own fields come before its <exclusions>.
                            fun field(tag: String, default: String): String {
                                val found = dep.getElementsByTagName(tag)
                                return if (found.length > 0) found.item(0).textContent.trim() else default
                            }
                            listOf(
                                field("groupId", ""), field("artifactId", ""), field("version", ""),
                                field("type", "jar"), field("scope", "compile"),
                            ).joinToString(":")
                        }
                        val missing = expected.filter { it !in actual }
                        if (missing.isNotEmpty()) {
                            throw GradleException("the POM lacks $missing (pom-dependencies.expected); it has $actual")
                        }
                        logger.lifecycle("zkiris POM dependencies: $actual")
                    }
                }
            }
        }
        repositories {
            // A directory repository, to inspect or copy what would be published.
            maven {
                name = "local"
                url = uri(layout.buildDirectory.dir("repo"))
            }
        }
    }
}
