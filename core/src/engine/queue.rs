//! A bounded work queue served by a fixed set of worker threads.
//!
//! Heavy work (model inference) is serialised here so that a device under
//! load answers "busy" at once instead of slowing every caller down: a
//! request is refused with [`QueueError::Busy`] when `depth` requests are
//! already waiting, dropped with [`QueueError::Timeout`] when its deadline
//! passes before a worker takes it, and dropped with
//! [`QueueError::Cancelled`] when its [`CancelToken`] fires first.
//!
//! The caller blocks until its result, its deadline or its cancellation,
//! whichever comes first: a caller never waits past its deadline, even when
//! a worker is still busy with its request (the late result is discarded).
//! A waiting caller gives up a little before its deadline (a tenth of its
//! time budget, at most [`WAKE_MARGIN`]), because on a loaded CPU a thread
//! woken exactly at its deadline can be scheduled milliseconds after it:
//! a `Timeout` may come that much early so that no call returns late.
//! Dropping the queue answers every waiting request with
//! [`QueueError::ShuttingDown`], lets running jobs finish, and joins the
//! workers.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The most a caller gives up before its deadline, to absorb the delay
/// between its wake-up and its thread running again on a busy CPU.
pub const WAKE_MARGIN: Duration = Duration::from_millis(10);

/// When a caller with `deadline` stops waiting, as seen at `now`.
fn give_up_at(now: Instant, deadline: Instant) -> Instant {
    let budget = deadline.saturating_duration_since(now);
    deadline - (budget / 10).min(WAKE_MARGIN)
}

/// Why a job produced no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The queue was full: try again later.
    #[error("busy: the work queue is full")]
    Busy,
    /// The deadline passed before the result was ready.
    #[error("deadline passed before the result was ready")]
    Timeout,
    /// The request's cancel token fired.
    #[error("cancelled")]
    Cancelled,
    /// The queue is being dropped.
    #[error("shutting down")]
    ShuttingDown,
    /// The job panicked; the worker survived it.
    #[error("internal error: the job panicked")]
    Panicked,
}

/// Lets a caller cancel requests it submitted, from any thread. One token may
/// serve several requests; cancelling is permanent.
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Arc<CancelInner>,
}

#[derive(Default)]
struct CancelInner {
    cancelled: AtomicBool,
    /// Requests waiting on this token, woken when it fires.
    waiters: Mutex<Vec<Weak<dyn Wake>>>,
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every request that uses this token: a queued one is dropped,
    /// a running one stops at its next check, and its caller returns
    /// [`QueueError::Cancelled`] at once.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        let waiters = std::mem::take(&mut *lock(&self.inner.waiters));
        for waiter in waiters.iter().filter_map(Weak::upgrade) {
            waiter.wake();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    fn register(&self, waiter: Weak<dyn Wake>) {
        let mut waiters = lock(&self.inner.waiters);
        // Forget requests that have finished, so a long-lived token does not grow.
        waiters.retain(|w| w.strong_count() > 0);
        waiters.push(waiter);
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// What a running job can ask about its request.
pub struct JobControl {
    deadline: Instant,
    cancel: CancelToken,
}

impl JobControl {
    /// `Err` once the request was cancelled or its deadline passed: a job
    /// with several steps checks between them and gives up early.
    pub fn check(&self) -> Result<(), QueueError> {
        if self.cancel.is_cancelled() {
            Err(QueueError::Cancelled)
        } else if Instant::now() >= self.deadline {
            Err(QueueError::Timeout)
        } else {
            Ok(())
        }
    }
}

/// Wakes a caller waiting for its result.
trait Wake: Send + Sync {
    fn wake(&self);
}

/// Where a request's result lands, and what its caller waits on.
struct Slot<T> {
    state: Mutex<SlotState<T>>,
    ready: Condvar,
}

enum SlotState<T> {
    Waiting,
    Done(Result<T, QueueError>),
    /// The caller has stopped waiting: a late result is dropped.
    Abandoned,
}

impl<T: Send> Slot<T> {
    fn complete(&self, result: Result<T, QueueError>) {
        let mut state = lock(&self.state);
        if matches!(*state, SlotState::Waiting) {
            *state = SlotState::Done(result);
            self.ready.notify_all();
        }
    }
}

impl<T: Send> Wake for Slot<T> {
    fn wake(&self) {
        let _state = lock(&self.state);
        self.ready.notify_all();
    }
}

/// A queued request: the job, and how to answer without running it.
struct Entry {
    id: u64,
    deadline: Instant,
    cancel: CancelToken,
    run: Box<dyn FnOnce(&JobControl) + Send>,
    refuse: Box<dyn FnOnce(QueueError) + Send>,
}

struct State {
    queue: VecDeque<Entry>,
    shutting_down: bool,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    depth: usize,
    next_id: AtomicU64,
}

/// The queue and its workers. `Send + Sync`: share it by reference.
pub struct WorkQueue {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl WorkQueue {
    /// Starts `workers` threads (at least one) serving at most `depth`
    /// waiting requests (at least one). `name` prefixes the thread names.
    pub fn new(workers: usize, depth: usize, name: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::with_capacity(depth.max(1)),
                shutting_down: false,
            }),
            work: Condvar::new(),
            depth: depth.max(1),
            next_id: AtomicU64::new(0),
        });
        let mut queue = WorkQueue {
            shared,
            workers: Vec::new(),
        };
        for index in 0..workers.max(1) {
            let shared = Arc::clone(&queue.shared);
            // On failure, dropping `queue` stops and joins the threads started so far.
            let handle = std::thread::Builder::new()
                .name(format!("{name}-{index}"))
                .spawn(move || serve(&shared))?;
            queue.workers.push(handle);
        }
        Ok(queue)
    }

    /// Requests waiting for a worker now.
    /// Worker threads of the queue.
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    pub fn queued(&self) -> usize {
        lock(&self.shared.state).queue.len()
    }

    /// Runs `job` on a worker and waits for its result, at most until
    /// `deadline`. Returns [`QueueError::Busy`] at once when the queue is full.
    pub fn run<T, F>(
        &self,
        deadline: Instant,
        cancel: &CancelToken,
        job: F,
    ) -> Result<T, QueueError>
    where
        T: Send + 'static,
        F: FnOnce(&JobControl) -> Result<T, QueueError> + Send + 'static,
    {
        let submitted = Instant::now();
        if cancel.is_cancelled() {
            return Err(QueueError::Cancelled);
        }
        let (entry, slot, id) = self.entry(deadline, cancel, job);
        {
            let mut state = lock(&self.shared.state);
            if state.shutting_down {
                return Err(QueueError::ShuttingDown);
            }
            if state.queue.len() >= self.shared.depth {
                return Err(QueueError::Busy);
            }
            state.queue.push_back(entry);
        }
        self.shared.work.notify_one();
        self.wait(&slot, id, give_up_at(submitted, deadline), cancel)
    }

    /// Runs independent `jobs` of one request on as many workers as can take
    /// them at once, and waits for every result (in the order of `jobs`), at
    /// most until `deadline`. The jobs are dealt into at most one queue place
    /// per worker, fewer when the queue has less room (at worst one place
    /// running them one after another), so a request never holds more
    /// workers than the queue has and never more places than are free:
    /// [`QueueError::Busy`] only when no place is. The first failure is the
    /// result; the request's other places are then withdrawn or abandoned.
    pub fn run_split<T, F>(
        &self,
        deadline: Instant,
        cancel: &CancelToken,
        jobs: Vec<F>,
    ) -> Result<Vec<T>, QueueError>
    where
        T: Send + 'static,
        F: FnOnce(&JobControl) -> Result<T, QueueError> + Send + 'static,
    {
        let submitted = Instant::now();
        if cancel.is_cancelled() {
            return Err(QueueError::Cancelled);
        }
        let count = jobs.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut placed = Vec::new();
        {
            let mut state = lock(&self.shared.state);
            if state.shutting_down {
                return Err(QueueError::ShuttingDown);
            }
            let room = self.shared.depth.saturating_sub(state.queue.len());
            let places = count.min(self.workers.len()).min(room);
            if places == 0 {
                return Err(QueueError::Busy);
            }
            let mut hands: Vec<Vec<(usize, F)>> = (0..places).map(|_| Vec::new()).collect();
            for (index, job) in jobs.into_iter().enumerate() {
                hands[index % places].push((index, job));
            }
            for hand in hands {
                let (entry, slot, id) = self.entry(deadline, cancel, move |control| {
                    let mut done = Vec::with_capacity(hand.len());
                    for (index, job) in hand {
                        control.check()?;
                        done.push((index, job(control)?));
                    }
                    Ok(done)
                });
                state.queue.push_back(entry);
                placed.push((slot, id));
            }
        }
        self.shared.work.notify_all();
        let until = give_up_at(submitted, deadline);
        let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
        for (waited, (slot, id)) in placed.iter().enumerate() {
            match self.wait(slot, *id, until, cancel) {
                Ok(done) => {
                    for (index, value) in done {
                        results[index] = Some(value);
                    }
                }
                Err(error) => {
                    for (slot, id) in &placed[waited + 1..] {
                        *lock(&slot.state) = SlotState::Abandoned;
                        self.withdraw(*id);
                    }
                    return Err(error);
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.ok_or(QueueError::Panicked))
            .collect()
    }

    /// A queue entry for `job`, the slot its result lands in, and its id.
    fn entry<T, F>(
        &self,
        deadline: Instant,
        cancel: &CancelToken,
        job: F,
    ) -> (Entry, Arc<Slot<T>>, u64)
    where
        T: Send + 'static,
        F: FnOnce(&JobControl) -> Result<T, QueueError> + Send + 'static,
    {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState::Waiting),
            ready: Condvar::new(),
        });
        let weak: Weak<dyn Wake> = Arc::downgrade(&slot) as Weak<Slot<T>>;
        cancel.register(weak);
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let run_slot = Arc::clone(&slot);
        let refuse_slot = Arc::clone(&slot);
        let entry = Entry {
            id,
            deadline,
            cancel: cancel.clone(),
            run: Box::new(move |control| {
                let result = catch_unwind(AssertUnwindSafe(|| job(control)))
                    .unwrap_or(Err(QueueError::Panicked));
                run_slot.complete(result);
            }),
            refuse: Box::new(move |error| refuse_slot.complete(Err(error))),
        };
        (entry, slot, id)
    }

    /// Waits for the result until `until` (a little before the deadline).
    fn wait<T: Send>(
        &self,
        slot: &Slot<T>,
        id: u64,
        until: Instant,
        cancel: &CancelToken,
    ) -> Result<T, QueueError> {
        let mut state = lock(&slot.state);
        loop {
            if let SlotState::Done(_) = *state {
                let SlotState::Done(result) = std::mem::replace(&mut *state, SlotState::Abandoned)
                else {
                    unreachable!("matched just above");
                };
                return result;
            }
            let gave_up = if cancel.is_cancelled() {
                Some(QueueError::Cancelled)
            } else if Instant::now() >= until {
                Some(QueueError::Timeout)
            } else {
                None
            };
            if let Some(error) = gave_up {
                *state = SlotState::Abandoned;
                drop(state);
                self.withdraw(id);
                return Err(error);
            }
            let timeout = until.saturating_duration_since(Instant::now());
            state = slot
                .ready
                .wait_timeout(state, timeout)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Takes a request that its caller gave up on out of the queue, so that
    /// it no longer holds a place (a running one is left to finish).
    fn withdraw(&self, id: u64) {
        lock(&self.shared.state)
            .queue
            .retain(|entry| entry.id != id);
    }
}

impl Drop for WorkQueue {
    fn drop(&mut self) {
        let waiting = {
            let mut state = lock(&self.shared.state);
            state.shutting_down = true;
            std::mem::take(&mut state.queue)
        };
        self.shared.work.notify_all();
        for entry in waiting {
            (entry.refuse)(QueueError::ShuttingDown);
        }
        for worker in self.workers.drain(..) {
            // A worker never panics (jobs run under catch_unwind); nothing to report.
            let _ = worker.join();
        }
    }
}

/// A worker: takes the oldest request, drops it if it is already too late or
/// cancelled, runs it otherwise.
fn serve(shared: &Shared) {
    loop {
        let entry = {
            let mut state = lock(&shared.state);
            loop {
                if state.shutting_down {
                    return;
                }
                if let Some(entry) = state.queue.pop_front() {
                    break entry;
                }
                state = shared
                    .work
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let control = JobControl {
            deadline: entry.deadline,
            cancel: entry.cancel,
        };
        match control.check() {
            Ok(()) => (entry.run)(&control),
            Err(error) => (entry.refuse)(error),
        }
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked
/// (every critical section here is a few assignments).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    const LONG: Duration = Duration::from_secs(60);

    fn later(d: Duration) -> Instant {
        Instant::now() + d
    }

    /// A job that blocks until the test lets it go, and says when it started.
    fn gate() -> (
        mpsc::Sender<()>,
        mpsc::Receiver<()>,
        impl FnOnce(&JobControl) -> Result<u32, QueueError> + Send + 'static,
    ) {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let job = move |_: &JobControl| {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(7)
        };
        (release_tx, started_rx, job)
    }

    #[test]
    fn runs_jobs_and_returns_their_results() {
        let queue = WorkQueue::new(2, 4, "test").unwrap();
        let token = CancelToken::new();
        for i in 0..10u32 {
            assert_eq!(
                queue.run(later(LONG), &token, move |_| Ok(i * 2)),
                Ok(i * 2)
            );
        }
        assert_eq!(
            queue.run(later(LONG), &token, |_| Err::<(), _>(QueueError::Cancelled)),
            Err(QueueError::Cancelled)
        );
    }

    type Job = Box<dyn FnOnce(&JobControl) -> Result<usize, QueueError> + Send>;

    #[test]
    fn split_jobs_run_on_every_worker_at_once_and_come_back_in_order() {
        let queue = WorkQueue::new(2, 4, "test").unwrap();
        let token = CancelToken::new();
        // Each job waits for the other to start: they finish only if two
        // workers run them at the same time.
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let jobs: Vec<Job> = (0..2usize)
            .map(|i| {
                let barrier = Arc::clone(&barrier);
                Box::new(move |_: &JobControl| {
                    barrier.wait();
                    Ok(i * 10)
                }) as Job
            })
            .collect();
        assert_eq!(queue.run_split(later(LONG), &token, jobs), Ok(vec![0, 10]));
        let many: Vec<Job> = (0..7usize)
            .map(|i| Box::new(move |_: &JobControl| Ok(i)) as Job)
            .collect();
        assert_eq!(
            queue.run_split(later(LONG), &token, many),
            Ok((0..7usize).collect::<Vec<_>>())
        );
        assert_eq!(
            queue.run_split(later(LONG), &token, Vec::<Job>::new()),
            Ok(vec![])
        );
    }

    #[test]
    fn split_jobs_share_one_place_when_the_queue_has_no_more_room() {
        let queue = Arc::new(WorkQueue::new(2, 2, "test").unwrap());
        let token = CancelToken::new();
        // Both workers busy, one of two places taken: one place is left.
        let (release_a, started_a, job_a) = gate();
        let (release_b, started_b, job_b) = gate();
        let running: Vec<_> = [
            Box::new(job_a) as Box<dyn FnOnce(&JobControl) -> Result<u32, QueueError> + Send>,
            Box::new(job_b),
        ]
        .into_iter()
        .map(|job| {
            let q = Arc::clone(&queue);
            let t = token.clone();
            std::thread::spawn(move || q.run(later(LONG), &t, job))
        })
        .collect();
        started_a.recv().unwrap();
        started_b.recv().unwrap();
        let q = Arc::clone(&queue);
        let t = token.clone();
        let occupant = std::thread::spawn(move || q.run(later(LONG), &t, |_| Ok(5u32)));
        while queue.queued() < 1 {
            std::thread::yield_now();
        }
        let q = Arc::clone(&queue);
        let t = token.clone();
        let split = std::thread::spawn(move || {
            let jobs: Vec<Job> = (0..4usize)
                .map(|i| Box::new(move |_: &JobControl| Ok(i)) as Job)
                .collect();
            q.run_split(later(LONG), &t, jobs)
        });
        while queue.queued() < 2 {
            std::thread::yield_now();
        }
        // Full now: a further split request is refused at once.
        let refused: Vec<Job> = vec![Box::new(|_: &JobControl| Ok(1))];
        assert_eq!(
            queue.run_split(later(LONG), &token, refused),
            Err(QueueError::Busy)
        );
        release_a.send(()).unwrap();
        release_b.send(()).unwrap();
        assert_eq!(split.join().unwrap(), Ok(vec![0, 1, 2, 3]));
        assert_eq!(occupant.join().unwrap(), Ok(5));
        for handle in running {
            assert_eq!(handle.join().unwrap(), Ok(7));
        }
    }

    #[test]
    fn a_failing_split_job_is_the_result_and_later_jobs_of_its_place_do_not_run() {
        let queue = WorkQueue::new(1, 4, "test").unwrap();
        let token = CancelToken::new();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let jobs: Vec<Job> = vec![
            Box::new(|_: &JobControl| Err(QueueError::Cancelled)),
            Box::new(move |_: &JobControl| {
                flag.store(true, Ordering::SeqCst);
                Ok(1)
            }),
        ];
        assert_eq!(
            queue.run_split(later(LONG), &token, jobs),
            Err(QueueError::Cancelled)
        );
        assert!(!ran.load(Ordering::SeqCst));
        let panics: Vec<Job> = vec![
            Box::new(|_: &JobControl| Ok(1)),
            Box::new(|_: &JobControl| panic!("a job's bug")),
        ];
        let queue = WorkQueue::new(2, 4, "test").unwrap();
        assert_eq!(
            queue.run_split(later(LONG), &token, panics),
            Err(QueueError::Panicked)
        );
        // The workers survive and serve the next request.
        assert_eq!(queue.run(later(LONG), &token, |_| Ok(2)), Ok(2));
    }

    #[test]
    fn full_queue_answers_busy_at_once() {
        let queue = Arc::new(WorkQueue::new(1, 2, "test").unwrap());
        let token = CancelToken::new();
        let (release, started, job) = gate();
        let q = Arc::clone(&queue);
        let t = token.clone();
        let running = std::thread::spawn(move || q.run(later(LONG), &t, job));
        started.recv().unwrap();
        // The worker is busy; two requests fill the queue.
        let mut waiting = Vec::new();
        for i in 0..2u32 {
            let q = Arc::clone(&queue);
            let t = token.clone();
            waiting.push(std::thread::spawn(move || {
                q.run(later(LONG), &t, move |_| Ok(i))
            }));
        }
        while queue.queued() < 2 {
            std::thread::yield_now();
        }
        assert_eq!(
            queue.run(later(LONG), &token, |_| Ok(99u32)),
            Err(QueueError::Busy)
        );
        release.send(()).unwrap();
        assert_eq!(running.join().unwrap(), Ok(7));
        let results: Vec<_> = waiting.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results, vec![Ok(0), Ok(1)]);
    }

    #[test]
    fn a_request_whose_deadline_passes_while_queued_times_out_and_never_runs() {
        let queue = Arc::new(WorkQueue::new(1, 4, "test").unwrap());
        let token = CancelToken::new();
        let (release, started, job) = gate();
        let q = Arc::clone(&queue);
        let t = token.clone();
        let running = std::thread::spawn(move || q.run(later(LONG), &t, job));
        started.recv().unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let result = queue.run(later(Duration::from_millis(20)), &token, move |_| {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        });
        assert_eq!(result, Err(QueueError::Timeout));
        // Withdrawn: the queue has room again before the worker is free.
        assert_eq!(queue.queued(), 0);
        release.send(()).unwrap();
        assert_eq!(running.join().unwrap(), Ok(7));
        // Whatever ran after the gate, the timed-out job was not among it.
        assert_eq!(queue.run(later(LONG), &token, |_| Ok(1)), Ok(1));
        assert!(!ran.load(Ordering::SeqCst));
    }

    #[test]
    fn callers_give_up_a_tenth_of_their_budget_early_at_most_the_wake_margin() {
        let now = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(give_up_at(now, now + ms(50)), now + ms(45));
        assert_eq!(give_up_at(now, now + ms(150)), now + ms(150) - WAKE_MARGIN);
        assert_eq!(
            give_up_at(now, now + ms(5000)),
            now + ms(5000) - WAKE_MARGIN
        );
        // A deadline already past stays where it is.
        let past = now - ms(5);
        assert_eq!(give_up_at(now, past), past);
    }

    #[test]
    fn a_running_job_past_its_deadline_returns_timeout_to_its_caller() {
        let queue = WorkQueue::new(1, 1, "test").unwrap();
        let token = CancelToken::new();
        let (release, _started, job) = gate();
        let result = queue.run(later(Duration::from_millis(20)), &token, job);
        assert_eq!(result, Err(QueueError::Timeout));
        release.send(()).unwrap();
        // The worker finishes the abandoned job and serves the next one.
        assert_eq!(queue.run(later(LONG), &token, |_| Ok(3)), Ok(3));
    }

    #[test]
    fn cancellation_drops_queued_and_releases_running_requests() {
        let queue = Arc::new(WorkQueue::new(1, 4, "test").unwrap());
        let (release, started, job) = gate();
        let running_token = CancelToken::new();
        let q = Arc::clone(&queue);
        let t = running_token.clone();
        let running = std::thread::spawn(move || q.run(later(LONG), &t, job));
        started.recv().unwrap();

        let queued_token = CancelToken::new();
        let q = Arc::clone(&queue);
        let t = queued_token.clone();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let queued = std::thread::spawn(move || {
            q.run(later(LONG), &t, move |_| {
                flag.store(true, Ordering::SeqCst);
                Ok(0)
            })
        });
        while queue.queued() < 1 {
            std::thread::yield_now();
        }
        queued_token.cancel();
        assert_eq!(queued.join().unwrap(), Err(QueueError::Cancelled));
        assert_eq!(queue.queued(), 0);

        running_token.cancel();
        assert_eq!(running.join().unwrap(), Err(QueueError::Cancelled));
        release.send(()).unwrap();
        assert!(!ran.load(Ordering::SeqCst));
        // A cancelled token refuses new requests at once.
        assert_eq!(
            queue.run(later(LONG), &queued_token, |_| Ok(1)),
            Err(QueueError::Cancelled)
        );
    }

    #[test]
    fn a_job_sees_its_cancellation_between_steps() {
        let queue = WorkQueue::new(1, 1, "test").unwrap();
        let token = CancelToken::new();
        let t = token.clone();
        let result = queue.run(later(LONG), &token, move |control| {
            control.check()?;
            t.cancel();
            control.check()?;
            Ok(())
        });
        assert_eq!(result, Err(QueueError::Cancelled));
    }

    #[test]
    fn a_panicking_job_is_reported_and_the_worker_survives() {
        let queue = WorkQueue::new(1, 1, "test").unwrap();
        let token = CancelToken::new();
        let result: Result<(), _> = queue.run(later(LONG), &token, |_| panic!("job failure"));
        assert_eq!(result, Err(QueueError::Panicked));
        assert_eq!(queue.run(later(LONG), &token, |_| Ok(5)), Ok(5));
    }

    #[test]
    fn dropping_the_queue_answers_waiting_requests_and_joins_workers() {
        let queue = WorkQueue::new(1, 4, "test").unwrap();
        let shared = Arc::clone(&queue.shared);
        let token = CancelToken::new();
        let (release, started, job) = gate();
        let (result_tx, result_rx) = mpsc::channel();
        std::thread::scope(|scope| {
            let queue = &queue;
            let tx = result_tx.clone();
            let t = token.clone();
            scope.spawn(move || tx.send(queue.run(later(LONG), &t, job)).unwrap());
            started.recv().unwrap();
            for _ in 0..3 {
                let tx = result_tx.clone();
                let t = token.clone();
                scope.spawn(move || tx.send(queue.run(later(LONG), &t, |_| Ok(1))).unwrap());
            }
            while queue.queued() < 3 {
                std::thread::yield_now();
            }
            // What Drop does first: refuse the waiting requests.
            let waiting = {
                let mut state = lock(&shared.state);
                state.shutting_down = true;
                std::mem::take(&mut state.queue)
            };
            shared.work.notify_all();
            for entry in waiting {
                (entry.refuse)(QueueError::ShuttingDown);
            }
            release.send(()).unwrap();
        });
        drop(result_tx);
        let mut results: Vec<_> = result_rx.iter().collect();
        results.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(
            results,
            vec![
                Err(QueueError::ShuttingDown),
                Err(QueueError::ShuttingDown),
                Err(QueueError::ShuttingDown),
                Ok(7),
            ]
        );
        assert_eq!(
            queue.run(later(LONG), &token, |_| Ok(1)),
            Err(QueueError::ShuttingDown)
        );
        // The worker exits and is joined.
        drop(queue);
        assert_eq!(Arc::strong_count(&shared), 1);
    }
}
