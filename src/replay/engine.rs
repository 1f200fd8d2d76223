//! The engine of a scenario as a server process that replay can stop and
//! start again: `Core::start` on an arbiter thread of its own.

use std::sync::Arc;

use actix_rt::Arbiter;

use crate::channels::memory::MemoryProvider;
use crate::clock::VirtualClock;
use crate::config::Settings;
use crate::startup::{AppOptions, Core};

/// Builds the options of every engine of one scenario. They share the clock
/// and provider, so a restarted engine continues the same virtual time and
/// SMS record.
pub fn engine_options(clock: &VirtualClock, provider: &MemoryProvider) -> AppOptions {
    AppOptions { clock: Arc::new(clock.clone()), provider: Some(Arc::new(provider.clone())), demo: false }
}

/// An engine running on its own arbiter thread. Stopping the arbiter drops
/// every actor the engine started (agents, tasks, scheduler and outbox),
/// as a process exit would, while the database file stays.
pub struct RunningCore {
    pub core: Core,
    /// `None` once stopped.
    arbiter: Option<Arbiter>,
}

impl RunningCore {
    /// Starts `Core::start` on a new arbiter and waits until it is ready.
    pub async fn start(settings: Settings, options: AppOptions) -> Result<Self, String> {
        let arbiter =
            Arbiter::try_new().map_err(|error| format!("starting a thread for the engine failed: {error}"))?;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let spawned = arbiter.spawn_fn(move || {
            actix_rt::spawn(async move {
                // The receiver only goes away when replay itself stopped.
                let _ = sender.send(Core::start(settings, options).await);
            });
        });
        let started = if spawned {
            match receiver.await {
                Ok(Ok(core)) => Ok(core),
                Ok(Err(error)) => Err(format!("starting the engine failed: {error:#}")),
                Err(_) => Err("starting the engine failed: its thread stopped before the engine was ready".to_owned()),
            }
        } else {
            Err("starting the engine failed: its thread stopped before it could start the engine".to_owned())
        };
        match started {
            Ok(core) => Ok(Self { core, arbiter: Some(arbiter) }),
            Err(message) => {
                arbiter.stop();
                Err(message)
            }
        }
    }

    /// Stops the arbiter and waits for its thread to end, so that no actor
    /// of this engine touches the database or the provider afterwards.
    pub async fn stop(&mut self) -> Result<(), String> {
        let Some(arbiter) = self.arbiter.take() else { return Ok(()) };
        arbiter.stop();
        match tokio::task::spawn_blocking(move || arbiter.join()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => {
                Err("the engine thread panicked while it stopped; run with RUST_LOG=info to see why".to_owned())
            }
            Err(error) => Err(format!("waiting for the engine thread to stop failed: {error}")),
        }
    }
}

impl Drop for RunningCore {
    fn drop(&mut self) {
        if let Some(arbiter) = self.arbiter.take() {
            arbiter.stop();
        }
    }
}
