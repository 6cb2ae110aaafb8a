//! Every bound the broker puts on its input and its queues, as named constants.
//!
//! Where Kafka has a config for a bound, the constant is Kafka's default and the config may
//! override it at start-up; the rest are fixed here. Units come last in each name.

/// Kafka's `socket.request.max.bytes` default: the largest request frame accepted.
pub const FRAME_BYTES_MAX_DEFAULT: usize = 100 * 1024 * 1024;

/// Smallest frame that can hold a request header (api key, version, correlation id,
/// client id length).
pub const REQUEST_HEADER_BYTES_MIN: usize = 2 + 2 + 4 + 2;

/// Kafka's `message.max.bytes` default (1 MiB plus the batch overhead, as Kafka 4.x ships it).
pub const MESSAGE_BYTES_MAX_DEFAULT: i64 = 1_048_588;

/// Kafka's `max.connections` default is unbounded; we bound it so a runaway client cannot
/// exhaust file descriptors.
pub const CONNECTIONS_MAX_DEFAULT: usize = 10_000;

/// Longest topic name Kafka accepts (`Topic.MAX_NAME_LENGTH`).
pub const TOPIC_NAME_BYTES_MAX: usize = 249;

/// Most partitions one topic may have here; protects the broker from a CreateTopics that asks
/// for millions of directories.
pub const PARTITIONS_PER_TOPIC_MAX: i32 = 100_000;

/// Longest a Fetch may wait for data, whatever the client asks.
pub const FETCH_WAIT_MS_MAX: i32 = 30_000;

/// How many of a producer's last batches are remembered per partition for duplicate detection
/// (Kafka's `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
pub const PRODUCER_BATCHES_RETAINED: usize = 5;

/// How long a connection on a TLS or SASL listener has from its accept to the end of its TLS
/// handshake and SASL authentication; one that takes longer is closed, so that clients that
/// connect and stall cannot hold connections. Kafka has no such bound (only
/// `connections.max.idle.ms`); a real client needs a few round trips.
pub const AUTHENTICATION_MS_MAX: u64 = 10_000;

/// How long shutdown waits for connections to finish the request they are on.
pub const SHUTDOWN_GRACE_MS: u64 = 5_000;

const _: () = assert!(FRAME_BYTES_MAX_DEFAULT > REQUEST_HEADER_BYTES_MIN);
const _: () = assert!((MESSAGE_BYTES_MAX_DEFAULT as usize) < FRAME_BYTES_MAX_DEFAULT);

/// Largest frame on the controller listener: a metadata snapshot chunk or a batch of entries.
pub const CONTROLLER_FRAME_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Connections the controller listener accepts at once (voters and brokers).
pub const CONTROLLER_CONNECTIONS_MAX: usize = 1024;

/// Log file handles a broker keeps open at most: half of the process's open-file limit (the
/// rest is for connections and everything else), or 4096 when the limit cannot be read. Past
/// it, the least recently used partitions close their files until they are used again.
pub fn log_files_max() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            let soft = line
                .trim_start_matches("Max open files")
                .split_whitespace()
                .next()?;
            soft.parse::<usize>().ok()
        })
        .map_or(4096, |soft| (soft / 2).max(64))
}
