// Android-only (compiled by the Gradle module only; not run here).
package dev.zkiris.android

import android.app.ActivityManager
import android.content.Context
import dev.zkiris.ffi.ProverConfig

/** The memory figure Android itself reports, for `ProverConfig.memoryBudgetMib`. */
object AndroidMemory {
    /**
     * MiB the system reports available (`ActivityManager.MemoryInfo.availMem`), minus its
     * low-memory threshold (below it the system starts killing background processes), so
     * `prepare`/`prove` refuse with `ZkirisException.OutOfMemoryEstimate` before getting the app
     * killed. Without a budget the prover reads `MemAvailable` from `/proc/meminfo`, which
     * ignores that threshold.
     */
    fun availableMib(context: Context): Long {
        val am = context.getSystemService(Context.ACTIVITY_SERVICE) as ActivityManager
        val info = ActivityManager.MemoryInfo().also { am.getMemoryInfo(it) }
        return ((info.availMem - info.threshold).coerceAtLeast(0)) / (1024 * 1024)
    }

    /** A [ProverConfig] whose memory budget is [availableMib] now. */
    fun proverConfig(context: Context, cacheDir: String, threads: UInt? = null): ProverConfig =
        ProverConfig(cacheDir = cacheDir, memoryBudgetMib = availableMib(context).toULong(), threads = threads)
}
