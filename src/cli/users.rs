//! `ktui users list | set-password | delete`: SCRAM users (KIP-554), as `kafka-configs.sh
//! --entity-type users --alter --add-config 'SCRAM-SHA-512=[password=…]'` manages them. A
//! listing shows mechanisms and iteration counts, never a secret. The password is read from
//! `--password-file` or, without it, from the first line of stdin, so it stays out of shell
//! history and process listings; it is salted here and never sent.

use std::io::BufRead;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::connect::ConnectArgs;
use super::output::{self, Format, Table};
use crate::client::scram_users::{self, Mechanism, ITERATIONS_DEFAULT};

/// Flags of `ktui users`.
#[derive(Debug, Args)]
pub(super) struct UsersArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    #[command(subcommand)]
    command: UsersCommand,
}

impl UsersArgs {
    /// The write this command makes, for `--read-only` to refuse.
    pub(super) fn writes(&self) -> Option<&'static str> {
        match self.command {
            UsersCommand::SetPassword { .. } => Some("users set-password"),
            UsersCommand::Delete { .. } => Some("users delete"),
            UsersCommand::List { .. } => None,
        }
    }
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Users with SCRAM credentials: mechanisms and iterations (all users, or those named).
    List { users: Vec<String> },
    /// Sets a user's SCRAM password for one mechanism (creating the user).
    SetPassword {
        user: String,
        /// SCRAM-SHA-256 or SCRAM-SHA-512.
        #[arg(long, default_value = "SCRAM-SHA-512")]
        mechanism: String,
        /// PBKDF2 iterations (Kafka's minimum and default: 4096).
        #[arg(long, default_value_t = ITERATIONS_DEFAULT)]
        iterations: i32,
        /// A file whose first line is the password; without it, stdin's first line.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Deletes a user's SCRAM credential (both mechanisms unless --mechanism names one).
    Delete {
        user: String,
        #[arg(long)]
        mechanism: Option<String>,
    },
}

pub(super) async fn run(args: UsersArgs) -> anyhow::Result<()> {
    let cluster = args.connect.connect().await?;
    let format = args.connect.output;
    match args.command {
        UsersCommand::List { users } => {
            let named = (!users.is_empty()).then_some(users.as_slice());
            let found = scram_users::describe(&cluster, named).await?;
            match format {
                Format::Json => output::print_json(&found),
                Format::Table => {
                    let mut table = Table::new(&["USER", "MECHANISM", "ITERATIONS"]);
                    for u in &found {
                        if u.credentials.is_empty() {
                            table.row(vec![u.name.clone(), "-".into(), "-".into()]);
                        }
                        for c in &u.credentials {
                            table.row(vec![
                                u.name.clone(),
                                c.mechanism.name().to_string(),
                                c.iterations.to_string(),
                            ]);
                        }
                    }
                    table.print()
                }
            }
        }
        UsersCommand::SetPassword {
            user,
            mechanism,
            iterations,
            password_file,
        } => {
            let mechanism = Mechanism::parse(&mechanism)?;
            let password = read_password(password_file.as_ref())?;
            scram_users::set_password(&cluster, &user, mechanism, &password, iterations).await?;
            done(format, &user, &format!("{} set", mechanism.name()))
        }
        UsersCommand::Delete { user, mechanism } => {
            let mechanisms = match mechanism {
                Some(m) => vec![Mechanism::parse(&m)?],
                None => {
                    let found =
                        scram_users::describe(&cluster, Some(std::slice::from_ref(&user))).await?;
                    found
                        .iter()
                        .flat_map(|u| u.credentials.iter().map(|c| c.mechanism))
                        .collect()
                }
            };
            if mechanisms.is_empty() {
                anyhow::bail!("user '{user}' has no SCRAM credential");
            }
            for m in &mechanisms {
                scram_users::delete(&cluster, &user, *m).await?;
            }
            let names: Vec<&str> = mechanisms.iter().map(|m| m.name()).collect();
            done(format, &user, &format!("{} deleted", names.join(", ")))
        }
    }
}

/// The first line of `file`, or of stdin; an empty password is refused.
fn read_password(file: Option<&PathBuf>) -> anyhow::Result<String> {
    let mut line = String::new();
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            line = text.lines().next().unwrap_or_default().to_string();
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprint!("password: ");
            }
            let _ = std::io::stdin().lock().read_line(&mut line)?;
        }
    }
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        anyhow::bail!("the password is empty (give it on stdin or with --password-file)");
    }
    Ok(password)
}

fn done(format: Format, user: &str, what: &str) -> anyhow::Result<()> {
    match format {
        Format::Json => output::print_json(&serde_json::json!({"user": user, "result": what})),
        Format::Table => output::print_text(&format!("user {user}: {what}\n")),
    }
}
