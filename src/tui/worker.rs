//! The background side of the console: each [`Request`] runs on its own tokio task (reads
//! of the same kind are not doubled while one is in flight), and its answer goes back to the
//! UI as an [`Event::Data`]. A lost connection starts a probe that retries with backoff,
//! reporting the countdown, until the cluster answers again. The live tail is one task that
//! batches records (at most every [`TAIL_FLUSH`]) and stops reading while paused, so the
//! fetchers wait instead of the buffer growing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::client::tail::{self, Reading, StartAt, TailEvent};
use crate::client::Cluster;
use crate::config::ClientConfig;
use crate::error::Error;
use crate::tui::action::{Request, TailStart};
use crate::tui::calls;
use crate::tui::event::{ConnState, Event, Subject, Update};
use crate::tui::model::{
    TailRecord, HEADERS_KEPT_MAX, HEADER_BYTES_KEPT_MAX, KEY_BYTES_KEPT_MAX,
    TAIL_BATCHES_IN_FLIGHT_MAX, TAIL_RECORDS_MAX, VALUE_BYTES_KEPT_MAX,
};

/// How often, at most, the tail hands records to the UI while they keep arriving.
pub const TAIL_FLUSH: Duration = Duration::from_millis(50);
/// A read is repeated no sooner than this many times its last duration.
pub const READ_SPACING_FACTOR: u32 = 100;
/// The longest a read is held back by [`READ_SPACING_FACTOR`] (a read slowed by a timeout
/// rather than by work must not stop refreshes for long).
pub const READ_SPACING_MAX: Duration = Duration::from_secs(30);
/// First and longest wait between reconnection attempts.
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// The running tail.
struct TailTask {
    cancel: CancellationToken,
    pause: watch::Sender<bool>,
}

/// Runs requests on background tasks.
pub struct Worker {
    /// The settings, for the tail's own connections (its long polls must not queue ahead of
    /// the screens' requests on a shared connection: brokers answer a connection in order).
    config: ClientConfig,
    cluster: watch::Receiver<Option<Arc<Cluster>>>,
    events: mpsc::Sender<Event>,
    /// Keys of reads in flight, so a slow refresh is not stacked up.
    in_flight: Arc<Mutex<HashSet<String>>>,
    /// When each read last finished and how long it took: a read is not repeated sooner than
    /// [`READ_SPACING_FACTOR`] times its duration, so refreshing a large cluster's screens
    /// takes at most about 1% of the time, however short `--refresh` is.
    costs: Arc<Mutex<HashMap<String, (Instant, Duration)>>>,
    /// Whether a reconnection probe is running (or the connector before the first success).
    probing: Arc<Mutex<bool>>,
    tail: Option<TailTask>,
}

fn is_connection_error(e: &Error) -> bool {
    matches!(
        e,
        Error::Connect { .. } | Error::Disconnected { .. } | Error::Timeout { .. }
    )
}

impl Worker {
    /// Starts connecting to the cluster `config` names; events go to `events`.
    pub fn start(config: ClientConfig, events: mpsc::Sender<Event>) -> Worker {
        let (set, cluster) = watch::channel(None);
        let probing = Arc::new(Mutex::new(true));
        let worker = Worker {
            config: config.clone(),
            cluster,
            events: events.clone(),
            in_flight: Arc::new(Mutex::new(HashSet::new())),
            costs: Arc::new(Mutex::new(HashMap::new())),
            probing: probing.clone(),
            tail: None,
        };
        drop(tokio::spawn(connect(config, set, events, probing)));
        worker
    }

    /// Runs `request` in the background.
    pub fn submit(&mut self, request: Request) {
        match request {
            Request::TailStart {
                topic,
                start,
                resume,
                reading,
            } => self.start_tail(topic, (start, reading), resume),
            Request::TailPause(paused) => {
                if let Some(t) = &self.tail {
                    let _ = t.pause.send(paused);
                }
            }
            Request::TailStop => {
                if let Some(t) = self.tail.take() {
                    t.cancel.cancel();
                }
            }
            Request::Save { file, lines } => {
                let events = self.events.clone();
                drop(tokio::task::spawn_blocking(move || {
                    let text = lines.iter().fold(String::new(), |acc, l| acc + l + "\n");
                    let error = std::fs::write(&file, text).err().map(|e| e.to_string());
                    let note = Some(format!("save {} records to {file}", lines.len()));
                    let subject = Subject::Save(file);
                    let update = Update::Done {
                        subject,
                        note,
                        error,
                    };
                    let _ = events.blocking_send(Event::Data(update));
                }));
            }
            Request::Broker { id, op } => {
                // No connection needed: a node is started even when the whole cluster is down.
                let events = self.events.clone();
                drop(tokio::task::spawn_blocking(move || {
                    let result = calls::control_local_node(id, op);
                    let update = Update::Done {
                        subject: Subject::Broker(id, op),
                        note: result.as_ref().ok().cloned(),
                        error: result.err().map(|e| format!("{e:#}")),
                    };
                    let _ = events.blocking_send(Event::Data(update));
                }));
            }
            other => self.spawn(other),
        }
    }

    fn spawn(&self, request: Request) {
        let Some(cluster) = self.cluster.borrow().clone() else {
            return;
        };
        let key = format!("{request:?}");
        let read = !request.writes() && !matches!(request, Request::ResetPreview { .. });
        if read {
            let costs = self.costs.lock().expect("costs lock");
            if let Some((finished, took)) = costs.get(&key) {
                if finished.elapsed() < (*took * READ_SPACING_FACTOR).min(READ_SPACING_MAX) {
                    return;
                }
            }
            let mut in_flight = self.in_flight.lock().expect("in-flight lock");
            if !in_flight.insert(key.clone()) {
                return;
            }
        }
        let events = self.events.clone();
        let in_flight = self.in_flight.clone();
        let costs = self.costs.clone();
        let probing = self.probing.clone();
        let principal = principal_of(&self.config);
        drop(tokio::spawn(async move {
            let started = Instant::now();
            tracing::debug!("request {key}");
            let result = run(&cluster, request).await;
            tracing::debug!(
                "request {key} done in {:?}: {}",
                started.elapsed(),
                if result.is_ok() { "ok" } else { "failed" }
            );
            if read {
                let took = started.elapsed();
                let _ = in_flight.lock().expect("in-flight lock").remove(&key);
                let mut costs = costs.lock().expect("costs lock");
                let _ = costs.insert(key, (Instant::now(), took));
            }
            match result {
                Ok(update) => {
                    let _ = events.send(Event::Data(update)).await;
                }
                Err((_, e)) if is_connection_error(&e) => {
                    lost(cluster, events, probing, e.to_string());
                }
                Err((subject, e)) => {
                    let text = crate::tui::denied::explain(&subject, &e, &principal)
                        .unwrap_or_else(|| e.to_string());
                    let _ = events.send(Event::Data(failure(subject, text))).await;
                }
            }
        }));
    }

    fn start_tail(
        &mut self,
        topic: String,
        start: (TailStart, Reading),
        resume: BTreeMap<i32, i64>,
    ) {
        if let Some(t) = self.tail.take() {
            t.cancel.cancel();
        }
        if self.cluster.borrow().is_none() {
            let update =
                Update::TailError("not connected yet; reopen the tail when connected".into());
            let _ = self.events.try_send(Event::Data(update));
            return;
        }
        let cancel = CancellationToken::new();
        let (pause, paused) = watch::channel(false);
        let task = run_tail(
            self.config.clone(),
            topic,
            start,
            resume,
            self.events.clone(),
            cancel.clone(),
            paused,
        );
        drop(tokio::spawn(task));
        self.tail = Some(TailTask { cancel, pause });
    }
}

/// Who the console authenticates as, as ACLs name principals.
fn principal_of(config: &ClientConfig) -> String {
    let sasl = &config.security.sasl;
    if config.security.protocol.uses_sasl() && !sasl.username.is_empty() {
        format!("User:{}", sasl.username)
    } else {
        "User:<you>".to_string()
    }
}

/// A failed request as the UI hears of it: writes end in `Done` with the error.
fn failure(subject: Subject, error: String) -> Update {
    if subject.writes() {
        Update::Done {
            subject,
            note: None,
            error: Some(error),
        }
    } else {
        Update::Failed { subject, error }
    }
}

/// The update for a write that succeeded.
fn done(subject: Subject) -> impl FnOnce(()) -> Update {
    move |()| Update::Done {
        subject,
        note: None,
        error: None,
    }
}

/// Runs one request; the error says what it was about.
async fn run(cluster: &Arc<Cluster>, request: Request) -> Result<Update, (Subject, Error)> {
    let now = SystemTime::now;
    let subject = request.subject();
    let tag = subject.clone();
    let result = match request {
        Request::Cluster => calls::cluster(cluster)
            .await
            .map(|s| Update::Cluster(s, now())),
        Request::Groups => calls::groups(cluster)
            .await
            .map(|g| Update::Groups(g, now())),
        Request::Topic(t) => calls::topic(cluster, &t)
            .await
            .map(|d| Update::Topic(d, now())),
        Request::Group(g) => calls::group(cluster, &g)
            .await
            .map(|d| Update::Group(d, now())),
        Request::Produce(p) => match p.value.strip_prefix('@').map(str::trim) {
            Some(path) if !path.is_empty() && !path.contains('\n') => {
                calls::produce_file(cluster, &p, path)
                    .await
                    .map(|n| Update::Done {
                        subject,
                        note: Some(format!("produce {n} lines of {path} to {}", p.topic)),
                        error: None,
                    })
            }
            _ => calls::produce(cluster, &p)
                .await
                .map(|(partition, offset)| Update::Produced { partition, offset }),
        },
        Request::CreateTopic {
            name,
            partitions,
            replication,
            configs,
        } => crate::client::admin::create_topic(cluster, &name, partitions, replication, &configs)
            .await
            .map(done(subject)),
        Request::DeleteTopic(t) => crate::client::admin::delete_topic(cluster, &t)
            .await
            .map(done(subject)),
        Request::AlterConfig { topic, set, delete } => {
            crate::client::admin::alter_topic_config(cluster, &topic, &set, &delete)
                .await
                .map(done(subject))
        }
        Request::AddPartitions { topic, total } => {
            crate::client::admin::add_partitions(cluster, &topic, total)
                .await
                .map(done(subject))
        }
        Request::ResetPreview { group, topic, spec } => {
            calls::reset_preview(cluster, &group, &topic, &spec)
                .await
                .map(|rows| Update::ResetPreview { group, rows })
        }
        Request::ResetExecute { group, rows } => calls::reset_execute(cluster, &group, &rows)
            .await
            .map(done(subject)),
        Request::DeleteGroup(g) => crate::client::groups::delete_groups(cluster, &[g])
            .await
            .map(done(subject)),
        Request::LogDirs => calls::log_dirs(cluster).await.map(Update::LogDirs),
        Request::Elect { scope, unclean } => {
            calls::elect(cluster, &scope, unclean)
                .await
                .map(|note| Update::Done {
                    subject,
                    note: Some(note),
                    error: None,
                })
        }
        Request::Reassign {
            topic,
            partition,
            replicas,
        } => calls::reassign(cluster, &topic, partition, &replicas)
            .await
            .map(done(subject)),
        Request::Reassignments => calls::reassigning(cluster).await.map(Update::Reassignments),
        Request::Acls => crate::client::acls::describe(cluster, &Default::default())
            .await
            .map(|a| Update::Acls(a, now())),
        Request::Users => crate::client::scram_users::describe(cluster, None)
            .await
            .map(|u| Update::Users(u, now())),
        Request::CreateAcl(binding) => crate::client::acls::create(cluster, &[binding])
            .await
            .map(done(subject)),
        Request::DeleteAcl(binding) => calls::delete_acl(cluster, &binding)
            .await
            .map(done(subject)),
        Request::SetPassword {
            user,
            mechanism,
            password,
        } => crate::client::scram_users::set_password(
            cluster,
            &user,
            mechanism,
            &password.0,
            crate::client::scram_users::ITERATIONS_DEFAULT,
        )
        .await
        .map(done(subject)),
        Request::DeleteUser(user) => calls::delete_user(cluster, &user).await.map(done(subject)),
        Request::Transactions => calls::transactions(cluster, crate::client::produce::now_ms())
            .await
            .map(|rows| Update::Transactions(rows, now())),
        Request::AbortTransaction(txn) => {
            calls::abort_transaction(cluster, &txn)
                .await
                .map(|note| Update::Done {
                    subject,
                    note: Some(note),
                    error: None,
                })
        }
        Request::TailStart { .. }
        | Request::TailPause(_)
        | Request::TailStop
        | Request::Broker { .. }
        | Request::Save { .. } => Ok(Update::Done {
            subject,
            note: None,
            error: None,
        }),
    };
    result.map_err(|e| (tag, e))
}

/// Connects, retrying with backoff; reports each failure with the time of the next try.
async fn connect(
    config: ClientConfig,
    set: watch::Sender<Option<Arc<Cluster>>>,
    events: mpsc::Sender<Event>,
    probing: Arc<Mutex<bool>>,
) {
    let mut wait = RETRY_MIN;
    loop {
        match Cluster::connect(config.clone()).await {
            Ok(cluster) => {
                let _ = set.send(Some(cluster));
                *probing.lock().expect("probe lock") = false;
                let _ = events
                    .send(Event::Data(Update::Connection(ConnState::Connected)))
                    .await;
                return;
            }
            Err(e) => {
                let state = ConnState::Lost {
                    error: e.to_string(),
                    retry_at: Instant::now() + wait,
                };
                if events
                    .send(Event::Data(Update::Connection(state)))
                    .await
                    .is_err()
                {
                    return;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }
}

/// Reports a lost connection and, unless one runs, starts a probe that reloads metadata
/// with backoff until it succeeds.
fn lost(
    cluster: Arc<Cluster>,
    events: mpsc::Sender<Event>,
    probing: Arc<Mutex<bool>>,
    error: String,
) {
    {
        let mut running = probing.lock().expect("probe lock");
        if *running {
            return;
        }
        *running = true;
    }
    drop(tokio::spawn(async move {
        let mut wait = RETRY_MIN;
        let mut error = error;
        loop {
            let state = ConnState::Lost {
                error: error.clone(),
                retry_at: Instant::now() + wait,
            };
            if events
                .send(Event::Data(Update::Connection(state)))
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(wait).await;
            match cluster.refresh_metadata().await {
                Ok(_) => break,
                Err(e) => error = e.to_string(),
            }
            wait = (wait * 2).min(RETRY_MAX);
        }
        *probing.lock().expect("probe lock") = false;
        let _ = events
            .send(Event::Data(Update::Connection(ConnState::Connected)))
            .await;
    }));
}

/// A client record cut to the tail's bounds (a control record flagged as one).
pub fn keep(partition: i32, r: &kafka_protocol::records::Record) -> TailRecord {
    let cut = |b: &[u8], max: usize| b[..b.len().min(max)].to_vec();
    TailRecord {
        partition,
        offset: r.offset,
        timestamp: r.timestamp,
        value_len: r.value.as_ref().map_or(0, bytes::Bytes::len),
        key: r.key.as_ref().map(|k| cut(k, KEY_BYTES_KEPT_MAX)),
        value: r.value.as_ref().map(|v| cut(v, VALUE_BYTES_KEPT_MAX)),
        headers: r
            .headers
            .iter()
            .take(HEADERS_KEPT_MAX)
            .map(|(k, v)| {
                let name =
                    String::from_utf8_lossy(&cut(k.as_bytes(), HEADER_BYTES_KEPT_MAX)).into_owned();
                (name, v.as_ref().map(|v| cut(v, HEADER_BYTES_KEPT_MAX)))
            })
            .collect(),
        control: r.control,
    }
}

/// Opens the tail `topic` (`TOPIC` or `TOPIC:P,P`) names, on connections of its own.
async fn open_tail(
    config: ClientConfig,
    topic: &str,
    (start, reading): (TailStart, Reading),
    resume: &BTreeMap<i32, i64>,
    cancel: CancellationToken,
) -> crate::error::Result<tail::Tail> {
    let start_at = match start {
        TailStart::End => StartAt::Latest,
        TailStart::Beginning => StartAt::Earliest,
        TailStart::Offset(o) => StartAt::Offset(o),
        TailStart::Timestamp(t) => StartAt::Timestamp(t),
    };
    let (name, partitions) =
        crate::tui::command::topic_spec(topic).map_err(crate::error::Error::Invalid)?;
    let cluster = Cluster::connect(config).await?;
    let chosen = (partitions.as_deref(), resume);
    tail::start_until(&cluster, name, chosen, start_at, reading, cancel).await
}

/// Records gathered between two hand-overs to the screen, cut to [`TAIL_RECORDS_MAX`].
#[derive(Default)]
struct Batch {
    records: Vec<TailRecord>,
    dropped: u64,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.dropped == 0
    }

    fn add(&mut self, partition: i32, records: &[kafka_protocol::records::Record]) {
        let skip = records.len().saturating_sub(TAIL_RECORDS_MAX);
        self.dropped += skip as u64;
        self.records
            .extend(records[skip..].iter().map(|r| keep(partition, r)));
        let excess = self.records.len().saturating_sub(TAIL_RECORDS_MAX);
        if excess > 0 {
            let _ = self.records.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// The update to send, if there is something to send and a permit is free.
    fn take(&mut self, permits: &Arc<tokio::sync::Semaphore>) -> Option<Update> {
        if self.is_empty() {
            return None;
        }
        let permit = permits.clone().try_acquire_owned().ok()?;
        let taken = std::mem::take(self);
        Some(Update::TailRecords {
            records: taken.records,
            dropped: taken.dropped,
            permit: Some(Arc::new(permit)),
        })
    }
}

async fn run_tail(
    config: ClientConfig,
    topic: String,
    start: (TailStart, Reading),
    resume: BTreeMap<i32, i64>,
    events: mpsc::Sender<Event>,
    cancel: CancellationToken,
    mut paused: watch::Receiver<bool>,
) {
    let mut tail = match open_tail(config, &topic, start, &resume, cancel.clone()).await {
        Ok(t) => t,
        Err(e) => {
            let _ = events
                .send(Event::Data(Update::TailError(e.to_string())))
                .await;
            return;
        }
    };
    let mut batch = Batch::default();
    let permits = Arc::new(tokio::sync::Semaphore::new(TAIL_BATCHES_IN_FLIGHT_MAX));
    // A record arriving after a quiet spell goes to the screen at once; while records keep
    // coming they are handed over at most every TAIL_FLUSH.
    let mut flushed = tokio::time::Instant::now() - TAIL_FLUSH;
    loop {
        if *paused.borrow() {
            tokio::select! {
                () = cancel.cancelled() => return,
                changed = paused.changed() => if changed.is_err() { return },
            }
            continue;
        }
        let due = flushed + TAIL_FLUSH;
        let mut flush_now = false;
        tokio::select! {
            () = cancel.cancelled() => return,
            changed = paused.changed() => if changed.is_err() { return },
            () = tokio::time::sleep_until(due), if !batch.is_empty() => flush_now = true,
            event = tail.events.recv() => match event {
                Some(TailEvent::Records { partition, records }) => {
                    batch.add(partition, &records);
                    flush_now = tokio::time::Instant::now() >= due;
                }
                Some(TailEvent::End { .. }) => {}
                Some(TailEvent::Error { partition, error }) => {
                    let text = format!("partition {partition}: {error}");
                    let _ = events.send(Event::Data(Update::TailError(text))).await;
                }
                None => return,
            },
        }
        if flush_now {
            // Without a free permit the batch waits (and keeps filling) until the next turn.
            flushed = tokio::time::Instant::now();
            if let Some(update) = batch.take(&permits) {
                if events.send(Event::Data(update)).await.is_err() {
                    return;
                }
            }
        }
    }
}
