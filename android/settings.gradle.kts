// Gradle build of the Android library (AAR). Needs the Android SDK and NDK; the Rust libraries
// in zkiris/src/main/jniLibs/<abi>/ are built by scripts/build-android.sh first.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "zkiris-android"
include(":zkiris")
