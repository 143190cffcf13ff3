// The zkiris Android library: the UniFFI-generated bindings (src/main/kotlin/dev/zkiris/ffi),
// the idiomatic layer (src/main/kotlin/dev/zkiris: suspend prove, Flow progress), Android-only
// helpers (src/android/kotlin: Keystore keys), and the Rust library per ABI in
// src/main/jniLibs/{arm64-v8a,armeabi-v7a,x86_64}/libzkiris_ffi.so (scripts/build-android.sh).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

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
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // JNA with its native dispatch library per ABI (the @aar artifact). `api`: the generated
    // bindings' public classes extend JNA types (RustBuffer is a JNA Structure).
    api("net.java.dev.jna:jna:5.17.0@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
}
