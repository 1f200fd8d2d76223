//! Time source. The server uses the system clock; scenario replay and tests
//! use a virtual clock they move by hand.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

/// Current time in UTC.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// The current time as stored in the database (UTC, no zone).
    fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }
}

/// The shared clock handle passed to every component.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl VirtualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: Arc::new(Mutex::new(start)) }
    }

    /// Moves the clock to `instant`; the clock never goes back.
    pub fn set(&self, instant: DateTime<Utc>) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if instant > *now {
            *now = instant;
        }
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
