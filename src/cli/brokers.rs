//! `ktui brokers`: the brokers in metadata, with the controller marked.

use clap::Args;
use serde::Serialize;

use super::connect::ConnectArgs;
use super::output::{self, Format, Table};

/// Flags of `ktui brokers`.
#[derive(Debug, Args)]
pub(super) struct BrokersArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
}

/// One broker in `-o json`.
#[derive(Debug, Serialize)]
struct BrokerRow {
    id: i32,
    host: String,
    port: i32,
    rack: Option<String>,
    controller: bool,
}

pub(super) async fn run(args: BrokersArgs) -> anyhow::Result<()> {
    let cluster = args.connect.connect().await?;
    let metadata = cluster.refresh_metadata().await?;
    // The quorum's leader where the cluster serves DescribeQuorum (Kafka's Metadata names a
    // random broker when the controllers are nodes of their own).
    let controller = crate::client::quorum::active_controller(&cluster)
        .await
        .unwrap_or(metadata.controller_id);
    let rows: Vec<BrokerRow> = metadata
        .brokers
        .values()
        .map(|b| BrokerRow {
            id: b.id,
            host: b.host.clone(),
            port: b.port,
            rack: b.rack.clone(),
            controller: b.id == controller,
        })
        .collect();
    match args.connect.output {
        Format::Json => output::print_json(&rows),
        Format::Table => {
            let mut table = Table::new(&["ID", "ADDRESS", "RACK", "CONTROLLER"]);
            for b in &rows {
                table.row(vec![
                    b.id.to_string(),
                    format!("{}:{}", b.host, b.port),
                    output::or_dash(b.rack.as_ref()),
                    if b.controller { "yes" } else { "" }.to_string(),
                ]);
            }
            table.print()
        }
    }
}
