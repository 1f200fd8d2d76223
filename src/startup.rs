//! Building the running server from settings: database, actors and the
//! HTTP listener. Tests build the same application on port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix::{Actor as _, Addr};
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;
use chrono::TimeZone as _;

use crate::actors::outbox::Outbox;
use crate::actors::registry::{AgentRegistry, DispatchPending};
use crate::actors::scheduler::Scheduler;
use crate::actors::task::TaskRegistry;
use crate::channels::kannel::KannelProvider;
use crate::channels::log::LogProvider;
use crate::channels::whatsapp::WhatsAppProvider;
use crate::channels::SmsProvider;
use crate::chat::room::ChatRooms;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{ProviderKind, Settings, WhatsAppSender};
use crate::db::Database;
use crate::engine::Engine;
use crate::sms::Catalog;
use crate::web::{request_span, routes, AppState};

/// Choices that tests and replay make differently from production.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub clock: SharedClock,
    /// Replaces the configured provider, e.g. with an in-memory one.
    pub provider: Option<Arc<dyn SmsProvider>>,
    /// Seed the demo NGO into an empty database.
    pub demo: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self { clock: Arc::new(SystemClock), provider: None, demo: false }
    }
}

/// The engine and its actors, without HTTP; scenario replay uses this.
#[derive(Debug, Clone)]
pub struct Core {
    pub engine: Engine,
    pub registry: Addr<AgentRegistry>,
    pub tasks: Addr<TaskRegistry>,
    pub scheduler: Addr<Scheduler>,
    pub outbox: Addr<Outbox>,
    pub chat: Addr<ChatRooms>,
}

impl Core {
    /// Opens the database, seeds the demo if asked, starts the outbox and
    /// the registry, and dispatches messages left unprocessed by a restart.
    /// Must run inside an actix system.
    pub async fn start(settings: Settings, options: AppOptions) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let database = Database::open(&settings.database)?;
        let catalog = Arc::new(Catalog::load().context("loading message catalogues failed")?);
        let engine = Engine::new(database, settings.clone(), catalog, options.clock.clone());

        if options.demo {
            let zone = settings.zone();
            let now = options.clock.now();
            let today = zone.from_utc_datetime(&now.naive_utc()).date_naive();
            let seeded = engine
                .database
                .run(move |connection| {
                    crate::demo::seed(connection, zone, today, now.naive_utc()).map_err(crate::db::DbError::from)
                })
                .await?;
            if seeded {
                tracing::info!(
                    "created the demo NGO: 2 corporations, 3 facilities, 3 case types, 3 agents, 4 weeks of slots"
                );
            } else {
                tracing::info!("database already has data; demo data not added");
            }
        }

        let provider: Arc<dyn SmsProvider> = match options.provider {
            Some(provider) => provider,
            None => match settings.outbox.provider {
                ProviderKind::Kannel => Arc::new(KannelProvider::new(
                    &settings.kannel,
                    &settings.sms.vmn,
                    std::time::Duration::from_millis(settings.outbox.request_timeout_ms),
                )?),
                ProviderKind::Log => Arc::new(LogProvider::sms()),
            },
        };
        let mut outbox = Outbox::new(engine.clone(), provider);
        if settings.whatsapp.enabled {
            let whatsapp: Arc<dyn SmsProvider> = match settings.whatsapp.sender {
                WhatsAppSender::Graph => {
                    let timeout = std::time::Duration::from_millis(settings.outbox.request_timeout_ms);
                    Arc::new(WhatsAppProvider::new(&settings.whatsapp, timeout)?)
                }
                WhatsAppSender::Log => {
                    tracing::warn!(
                        "whatsapp.sender is \"log\": WhatsApp replies, one-time passwords included, are written to \
                         the log instead of being sent; use it only for demos"
                    );
                    Arc::new(LogProvider::whatsapp())
                }
            };
            outbox = outbox.with_whatsapp(whatsapp);
        }
        let outbox = outbox.start();
        let tasks = TaskRegistry::new(engine.clone()).start();
        let registry = AgentRegistry::new(engine.clone(), Some(outbox.clone()), tasks.clone()).start();
        let scheduler = Scheduler::new(engine.clone(), Some(outbox.clone())).start();
        let chat = ChatRooms::new(engine.clone()).start();
        let recovered = registry.send(DispatchPending).await.context("agent registry stopped")??;
        if recovered > 0 {
            tracing::info!(count = recovered, "dispatched messages stored before the restart");
        }
        if settings.whatsapp.enabled {
            // The first sweep runs at once and replies to WhatsApp messages
            // stored but left without a reply before the restart.
            crate::clients::spawn_sweeper(engine.clone(), outbox.clone());
        }
        Ok(Self { engine, registry, tasks, scheduler, outbox, chat })
    }
}

/// The HTTP server with its core, bound to a port.
pub struct Application {
    port: u16,
    server: Server,
    core: Core,
}

impl Application {
    pub async fn build(mut settings: Settings, options: AppOptions) -> anyhow::Result<Self> {
        let address = (settings.server.host.clone(), settings.server.port);
        let workers = settings.server.workers;
        let listener = TcpListener::bind(&address).with_context(|| {
            format!("binding {}:{} failed: is another server running there? Change server.port", address.0, address.1)
        })?;
        let port = listener.local_addr()?.port();
        settings.fill_portal_url(port);
        let core = Core::start(settings, options).await?;

        let state = web::Data::new(AppState {
            engine: core.engine.clone(),
            registry: core.registry.clone(),
            chat: core.chat.clone(),
            outbox: core.outbox.clone(),
        });
        let mut server =
            HttpServer::new(move || App::new().app_data(state.clone()).wrap_fn(request_span).configure(routes))
                .listen(listener)?
                .shutdown_timeout(10);
        if workers > 0 {
            server = server.workers(workers);
        }
        Ok(Self { port, server: server.run(), core })
    }

    /// The port actually bound, useful when 0 was configured.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Serves until the process is asked to stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// The server future, for tests that spawn it.
    pub fn into_server(self) -> (Server, Core) {
        (self.server, self.core)
    }
}
