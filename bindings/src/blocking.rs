//! Running a blocking call off the caller's thread, as a future UniFFI can export.
//!
//! The exported `async` functions (vault, model, verifier) are awaited from Kotlin
//! (`suspend`) and Swift (`async`): UniFFI polls the future from the caller's coroutine or task
//! and parks it until the future wakes it. The work itself (Argon2id, file I/O, decryption,
//! planning a circuit, deriving a verifying key) must therefore not run inside `poll`, which
//! happens on the caller's thread (possibly the UI thread). [`off_thread`] runs it on a fresh
//! thread of its own and completes the future from there. No runtime, no thread pool: these
//! calls are rare and each takes milliseconds to seconds, so a thread per call costs nothing
//! measurable.
//!
//! If the awaiting coroutine or task is cancelled, UniFFI drops the future; the thread finishes
//! its call (none of these calls can be interrupted half-way: each change to a vault is one
//! atomic commit) and its result is dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::error::{guard, ZkirisError};

struct Slot<T> {
    result: Option<Result<T, ZkirisError>>,
    waker: Option<Waker>,
}

/// The future [`off_thread`] returns.
pub(crate) struct OffThread<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The critical sections only move an `Option` in or out: a panic cannot tear them.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> Future for OffThread<T> {
    type Output = Result<T, ZkirisError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = lock(&self.slot);
        match slot.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Runs `f` (inside the panic guard) on a new thread and returns a future of its result. A
/// thread that cannot be started is an `Internal` error.
pub(crate) fn off_thread<T, F>(name: &str, f: F) -> OffThread<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ZkirisError> + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot { result: None, waker: None }));
    let theirs = slot.clone();
    let spawned = std::thread::Builder::new().name(format!("zkiris-{name}")).spawn(move || {
        let result = guard(f);
        let waker = {
            let mut s = lock(&theirs);
            s.result = Some(result);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    });
    if let Err(e) = spawned {
        lock(&slot).result = Some(Err(ZkirisError::Internal { detail: format!("cannot start a worker thread for {name}: {e}") }));
    }
    OffThread { slot }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;
    use std::thread::Thread;

    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }

    #[test]
    fn runs_on_another_thread_and_wakes_the_caller() {
        let caller = std::thread::current().id();
        let r = block_on(off_thread("test", move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            Ok(std::thread::current().id() != caller)
        }));
        assert_eq!(r, Ok(true));
    }

    #[test]
    fn panics_become_internal_errors() {
        let r: Result<(), _> = block_on(off_thread("test", || panic!("boom")));
        assert!(matches!(r, Err(ZkirisError::Internal { detail }) if detail.contains("boom")));
    }
}
