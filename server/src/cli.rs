//! The command line: `serve`, `migrate`, `token issue`, `keys list|rotate`,
//! `audit`, `erase`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::auth::Role;
use crate::auth::keyring::{self, Purpose};
use crate::config::{self, Overrides, Settings};
use crate::services::Portal;
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(
    name = "provenance",
    version,
    about = "Provenance Portal: signed, append-only device histories"
)]
pub struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
struct Common {
    /// Data directory: keys, the embedded database, provenance.toml
    /// [env: PROVENANCE_DATA_DIR] [default: ./data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://… or postgres://… [env: PROVENANCE_DATABASE_URL]
    /// [default: SQLite file in the data directory]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<crate::config::Secret>,
    /// TOML settings file [env: PROVENANCE_CONFIG] [default: DIR/provenance.toml]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the portal (migrating the database first).
    Serve {
        /// Seed demo data and print a token per demo persona.
        #[arg(long)]
        demo: bool,
        /// Address to listen on [env: PROVENANCE_BIND] [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Recompute every commitment, leaf, chain link, tile and checkpoint
    /// signature from the database. Exit 0 when all holds, 1 with the first
    /// mismatch, 2 when the audit cannot run.
    Audit,
    /// Erase a device's personal values (values and salts); an erasure
    /// record keeps who, when, why and which commitments.
    Erase {
        /// GTIN/SERIAL, e.g. 04012345000016/PK-0001
        #[arg(long, value_name = "GTIN/SERIAL")]
        device: String,
        /// The class to erase: only `personal` may be
        #[arg(long, default_value = "personal")]
        class: String,
        /// Why (kept in the erasure record)
        #[arg(long)]
        reason: String,
        /// Who asks [default: cli:$USER]
        #[arg(long)]
        actor: Option<String>,
    },
    /// The access log's maintenance.
    AccessLog {
        #[command(subcommand)]
        command: AccessLogCommand,
    },
    /// Print labels (docs/labels.md): for each unit a PNG of its QR code
    /// and an SVG label, and A4 sheets of the labels as SVG. A unit never
    /// printed gets its first label; `--reprint` gives each a new one and
    /// voids the code of every earlier print.
    Labels {
        /// The product's GTIN
        #[arg(long)]
        gtin: String,
        /// Every unit of this lot
        #[arg(long, conflicts_with = "serial", required_unless_present = "serial")]
        lot: Option<String>,
        /// These units (repeatable)
        #[arg(long)]
        serial: Vec<String>,
        /// New labels: the codes of earlier prints stop working
        #[arg(long)]
        reprint: bool,
        /// Where to write the files (created if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Signing keys: list them, rotate one (a running server picks up the
    /// new key within seconds).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AccessLogCommand {
    /// Erase the client addresses (personal data) of rows older than the
    /// retention; the chain keeps verifying (docs/access-policy.md, "Access
    /// log").
    EraseClients {
        /// Rows older than this many days lose their address
        #[arg(long, value_name = "DAYS")]
        older_than_days: u32,
        /// Who asks [default: cli:$USER]
        #[arg(long)]
        actor: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Print every key: purpose, current or retired, key id (RFC 7638
    /// thumbprint), retirement time.
    List,
    /// Retire the current key of a purpose and make a new one current. Old
    /// keys stay published; everything they signed still verifies.
    Rotate {
        /// log, credential or token
        #[arg(long, value_parser = parse_purpose)]
        purpose: Purpose,
    },
    /// Drop a compromised token or credential key at once: it is no longer
    /// published or accepted (a running server reloads within seconds).
    /// The current key is rotated first. Log keys are rotated instead, and
    /// the incident published (docs/ledger-format.md, "Keys").
    Revoke {
        /// credential or token
        #[arg(long, value_parser = parse_purpose)]
        purpose: Purpose,
        /// The key's id (`provenance keys list`); a key id may start with
        /// `-` (base64url), which is taken as the value, not an option
        #[arg(long, allow_hyphen_values = true)]
        kid: String,
    },
    /// Make a new label secret current: labels printed from now on carry
    /// codes of it; labels printed before keep working.
    RotateLabelSecret,
}

fn parse_purpose(s: &str) -> Result<Purpose, String> {
    s.parse()
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token and print it (only the JWT) on stdout.
    Issue {
        /// admin, staff, distributor, service_partner, warranty_agent, regulator, auditor
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Organisation slug (defaults to the manufacturer for admin and staff)
        #[arg(long, value_name = "ORG_SLUG")]
        org: Option<String>,
        /// Lifetime, e.g. 90m or 24h
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: std::time::Duration,
        /// Token subject [default: ROLE@ORG]
        #[arg(long)]
        subject: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

/// `audit` exits 1 on a mismatch and 2 when it cannot run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct AuditFailed(String, u8);

pub fn main() -> ExitCode {
    crate::telemetry::init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<AuditFailed>() {
            Some(AuditFailed(message, code)) => {
                eprintln!("{message}");
                ExitCode::from(*code)
            }
            None => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn settings(common: &Common, bind: Option<String>) -> anyhow::Result<Settings> {
    let flags = Overrides {
        data_dir: common.data_dir.clone(),
        database_url: common.database_url.clone(),
        bind,
        public_base_url: None,
        ..Default::default()
    };
    let config_file = common
        .config
        .clone()
        .or_else(|| std::env::var_os("PROVENANCE_CONFIG").map(PathBuf::from));
    config::load(flags, config_file.as_deref(), |k| std::env::var(k).ok())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { demo, bind } => serve(settings(&cli.common, bind)?, demo).await,
        Command::Migrate => {
            let portal = Portal::open(settings(&cli.common, None)?).await?;
            let tables = portal.store().table_names().await?;
            eprintln!("migrations applied; {} tables", tables.len());
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Issue {
                    role,
                    org,
                    ttl,
                    subject,
                },
        } => {
            let portal = Portal::open(settings(&cli.common, None)?).await?;
            let jwt = portal
                .issue_token(role, org.as_deref(), subject.as_deref(), ttl)
                .await?;
            println!("{jwt}");
            Ok(())
        }
        Command::Audit => {
            let settings = settings(&cli.common, None)
                .map_err(|e| AuditFailed(format!("audit could not run: {e:#}"), 2))?;
            // The audit changes nothing: no migration, no key created.
            let log_key = crate::auth::keys::key_path(&settings.keys_dir, "log");
            if !log_key.exists() {
                return Err(AuditFailed(
                    format!("audit could not run: no log key at {}", log_key.display()),
                    2,
                )
                .into());
            }
            let portal = Portal::open_unmigrated(settings)
                .await
                .map_err(|e| AuditFailed(format!("audit could not run: {e:#}"), 2))?;
            match portal.store().pending_migrations().await {
                Ok(0) => {}
                Ok(n) => {
                    return Err(AuditFailed(
                        format!(
                            "audit could not run: {n} migration(s) pending; run provenance migrate"
                        ),
                        2,
                    )
                    .into());
                }
                Err(e) => {
                    return Err(AuditFailed(format!("audit could not run: {e}"), 2).into());
                }
            }
            match portal.audit().await {
                Ok(summary) => {
                    println!("{summary}");
                    Ok(())
                }
                Err(e @ crate::services::audit::AuditError::Mismatch(_)) => {
                    Err(AuditFailed(e.to_string(), 1).into())
                }
                Err(e) => Err(AuditFailed(e.to_string(), 2).into()),
            }
        }
        Command::Erase {
            device,
            class,
            reason,
            actor,
        } => {
            let portal = Portal::open(settings(&cli.common, None)?).await?;
            let actor = actor.unwrap_or_else(cli_actor);
            let erased = portal.erase(&device, &class, &reason, &actor).await?;
            match erased.record {
                Some(record) => println!(
                    "erasure #{record}: {} {class} value(s) of {device} erased ({} commitment(s) kept in the log)",
                    erased.values, erased.commitments
                ),
                None => println!("{device} has no {class} values; nothing erased"),
            }
            Ok(())
        }
        Command::AccessLog {
            command:
                AccessLogCommand::EraseClients {
                    older_than_days,
                    actor,
                },
        } => {
            let portal = Portal::open(settings(&cli.common, None)?).await?;
            let actor = actor.unwrap_or_else(cli_actor);
            let done = portal
                .erase_client_addresses(&actor, older_than_days)
                .await?;
            println!(
                "{} client address(es) erased; {} older row(s) of the first form keep theirs (chained in the clear)",
                done.erased, done.first_form
            );
            Ok(())
        }
        Command::Labels {
            gtin,
            lot,
            serial,
            reprint,
            out,
        } => {
            let portal = Portal::open(settings(&cli.common, None)?).await?;
            let written = print_labels(&portal, &gtin, lot, serial, reprint, &out).await?;
            println!(
                "{written} label(s) written to {} (PNG and SVG per unit, sheet-N.svg)",
                out.display()
            );
            Ok(())
        }
        Command::Keys { command } => {
            let settings = settings(&cli.common, None)?;
            match command {
                KeysCommand::List => {
                    println!("purpose\tstate\tkid\tretired");
                    for line in crate::services::keys::list(&settings)? {
                        println!("{line}");
                    }
                }
                KeysCommand::Rotate { purpose } => {
                    let (old, new) = keyring::rotate(&settings.keys_dir, purpose)?;
                    println!("{purpose} key rotated: {old} retired, {new} current");
                }
                KeysCommand::Revoke { purpose, kid } => {
                    let current = keyring::revoke(&settings.keys_dir, purpose, &kid)?;
                    println!("{purpose} key {kid} revoked; {current} is current");
                }
                KeysCommand::RotateLabelSecret => {
                    let (old, new) = crate::auth::label_secrets::rotate(&settings.keys_dir)?;
                    println!("label secret rotated: {new} current; labels of {old} keep working");
                }
            }
            Ok(())
        }
    }
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let portal = Portal::open(settings).await?;
    let devices = if demo {
        portal.seed_demo().await.context("seeding demo data")?;
        portal
            .seed_demo_devices()
            .await
            .context("seeding demo devices")?
    } else {
        Vec::new()
    };
    let base = portal.settings().public_base_url.clone();
    let labels = portal.demo_labels(&devices).await?;
    let tokens = if demo {
        portal.demo_tokens().await?
    } else {
        Vec::new()
    };
    let app = Application::build(portal)?;
    tracing::info!(port = app.port(), %base, "listening");
    let mut lines = vec![format!("graphql {base}/graphql")];
    lines.extend(
        tokens
            .into_iter()
            .map(|t| format!("token {} {} {}", t.persona, t.org, t.jwt)),
    );
    lines.extend(devices.into_iter().map(|d| {
        format!(
            "device {}/{} {} {}",
            d.gtin, d.serial, d.digital_link, d.note
        )
    }));
    // What each demo unit's printed label encodes (its code included).
    lines.extend(
        labels
            .into_iter()
            .map(|(device, url)| format!("label {device} {url}")),
    );
    // The server keeps running when nobody reads stdout any more (a closed
    // pipe): the URLs are a courtesy, not part of serving.
    let mut out = std::io::stdout().lock();
    if let Err(e) = lines
        .iter()
        .try_for_each(|l| writeln!(out, "{l}"))
        .and_then(|()| out.flush())
    {
        tracing::warn!(error = %e, "could not print the start-up lines");
    }
    drop(out);
    app.run_until_stopped().await?;
    Ok(())
}

/// `provenance labels`: prints as the manufacturer's staff, named by the
/// command's actor.
async fn print_labels(
    portal: &Portal,
    gtin: &str,
    lot: Option<String>,
    serials: Vec<String>,
    reprint: bool,
    out: &std::path::Path,
) -> anyhow::Result<usize> {
    use crate::services::labels::{self, Units};
    let gtin = crate::domain::Gtin::parse(gtin).context("--gtin")?;
    let units = match lot {
        Some(lot) => Units::Lot(gtin, crate::domain::Lot::parse(&lot).context("--lot")?),
        None => Units::Serials(
            gtin,
            serials
                .iter()
                .map(|s| crate::domain::Serial::parse(s).context("--serial"))
                .collect::<anyhow::Result<_>>()?,
        ),
    };
    let operator = crate::auth::Principal {
        subject: cli_actor(),
        role: crate::auth::Role::Staff,
        org: String::new(),
    };
    let mode = if reprint {
        labels::PrintMode::Reprint
    } else {
        labels::PrintMode::Print
    };
    let printed = portal.print_labels(&operator, &units, mode).await?;
    if printed.is_empty() {
        anyhow::bail!("no such units");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for label in &printed {
        // A serial may hold characters a file name may not: hex them.
        let name: String = label
            .device
            .serial()
            .as_str()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let stem = out.join(format!("{}_{name}", label.device.gtin()));
        std::fs::write(stem.with_extension("png"), labels::qr_png(label)?)?;
        std::fs::write(stem.with_extension("svg"), labels::label_svg(label)?)?;
    }
    for (i, sheet) in labels::sheets(&printed)?.iter().enumerate() {
        std::fs::write(out.join(format!("sheet-{}.svg", i + 1)), sheet)?;
    }
    Ok(printed.len())
}

/// The default actor of a command: `cli:$USER`.
fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key id is base64url and may start with `-`: it is the value of
    /// `--kid`, not an option (found when a test's random key id did).
    #[test]
    fn a_key_id_starting_with_a_hyphen_is_a_value() {
        let cli = Cli::try_parse_from([
            "provenance",
            "keys",
            "revoke",
            "--purpose",
            "token",
            "--kid",
            "-ZkQ3f",
        ])
        .expect("parses");
        match cli.command {
            Command::Keys {
                command: KeysCommand::Revoke { kid, .. },
            } => assert_eq!(kid, "-ZkQ3f"),
            other => panic!("{other:?}"),
        }
    }
}
