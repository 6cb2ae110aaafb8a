//! `ktui acls list | create | delete`: ACLs with kafka-acls.sh's flags (`--allow-principal`,
//! `--deny-principal`, `--allow-host`, `--deny-host`, `--operation`, `--topic`, `--group`,
//! `--cluster`, `--transactional-id`, `--resource-pattern-type`). `create` makes one ACL for
//! every principal × host × operation × resource named, as kafka-acls.sh `--add` does;
//! `delete` asks first unless `--force`.

use clap::{Args, Subcommand};

use super::connect::ConnectArgs;
use super::output::{self, Format, Table};
use crate::client::acls::{
    self, AclBinding, AclFilter, Operation, PatternType, Permission, ResourceType, CLUSTER_NAME,
};

/// Flags of `ktui acls`.
#[derive(Debug, Args)]
pub(super) struct AclsArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    #[command(subcommand)]
    command: AclsCommand,
}

/// The resources an ACL command names.
#[derive(Debug, Clone, Args)]
struct Resources {
    /// A topic (repeatable).
    #[arg(long = "topic", value_name = "TOPIC")]
    topics: Vec<String>,
    /// A consumer group (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// The cluster itself.
    #[arg(long)]
    cluster: bool,
    /// A transactional id (repeatable).
    #[arg(long = "transactional-id", value_name = "ID")]
    transactional_ids: Vec<String>,
    /// How names match: literal, prefixed (create and delete), or also any and match (list
    /// and delete). Default: literal for create and delete, any for list.
    #[arg(long, value_name = "TYPE")]
    resource_pattern_type: Option<String>,
}

impl Resources {
    fn named(&self) -> Vec<(ResourceType, String)> {
        let mut out: Vec<(ResourceType, String)> = Vec::new();
        out.extend(self.topics.iter().map(|t| (ResourceType::Topic, t.clone())));
        out.extend(self.groups.iter().map(|g| (ResourceType::Group, g.clone())));
        if self.cluster {
            out.push((ResourceType::Cluster, CLUSTER_NAME.to_string()));
        }
        out.extend(
            self.transactional_ids
                .iter()
                .map(|t| (ResourceType::TransactionalId, t.clone())),
        );
        out
    }

    fn pattern(&self, default: PatternType) -> anyhow::Result<PatternType> {
        Ok(match &self.resource_pattern_type {
            Some(p) => PatternType::parse(p)?,
            None => default,
        })
    }
}

/// Principals, hosts and operations of `create` and `delete`.
#[derive(Debug, Clone, Args)]
struct Grants {
    /// A principal allowed (`User:alice`, `User:*`; repeatable).
    #[arg(long = "allow-principal", value_name = "PRINCIPAL")]
    allow_principals: Vec<String>,
    /// A principal denied (repeatable).
    #[arg(long = "deny-principal", value_name = "PRINCIPAL")]
    deny_principals: Vec<String>,
    /// A host the allowed principals may connect from (default `*`; repeatable).
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// A host the denied principals are refused from (default `*`; repeatable).
    #[arg(long = "deny-host", value_name = "HOST")]
    deny_hosts: Vec<String>,
    /// Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs,
    /// AlterConfigs, IdempotentWrite, All (repeatable; default All).
    #[arg(long = "operation", value_name = "OPERATION")]
    operations: Vec<String>,
}

impl AclsArgs {
    /// The write this command makes, for `--read-only` to refuse.
    pub(super) fn writes(&self) -> Option<&'static str> {
        match self.command {
            AclsCommand::Create { .. } => Some("acls create"),
            AclsCommand::Delete { .. } => Some("acls delete"),
            AclsCommand::List { .. } => None,
        }
    }
}

#[derive(Debug, Subcommand)]
enum AclsCommand {
    /// ACLs, all or those of the resources and principal named.
    List {
        #[command(flatten)]
        resources: Resources,
        /// Only ACLs of this principal.
        #[arg(long, value_name = "PRINCIPAL")]
        principal: Option<String>,
    },
    /// Creates an ACL for every principal, host, operation and resource named.
    Create {
        #[command(flatten)]
        resources: Resources,
        #[command(flatten)]
        grants: Grants,
    },
    /// Deletes the ACLs the flags select (the resources named; principals, hosts and
    /// operations narrow it down when given).
    Delete {
        #[command(flatten)]
        resources: Resources,
        #[command(flatten)]
        grants: Grants,
        /// Delete without asking.
        #[arg(long, short = 'y', visible_alias = "yes")]
        force: bool,
    },
}

pub(super) async fn run(args: AclsArgs) -> anyhow::Result<()> {
    let cluster = args.connect.connect().await?;
    let format = args.connect.output;
    match args.command {
        AclsCommand::List {
            resources,
            principal,
        } => {
            let filters = list_filters(&resources, principal)?;
            let mut found = Vec::new();
            for f in &filters {
                found.extend(acls::describe(&cluster, f).await?);
            }
            found.sort();
            found.dedup();
            print(format, &found)
        }
        AclsCommand::Create { resources, grants } => {
            let bindings = bindings(&resources, &grants)?;
            acls::create(&cluster, &bindings).await?;
            print(format, &bindings)
        }
        AclsCommand::Delete {
            resources,
            grants,
            force,
        } => {
            let filters = delete_filters(&resources, &grants)?;
            let question = format!("delete the ACLs of {} resource(s) selected?", filters.len());
            if !force && !output::confirm(&question)? {
                anyhow::bail!("nothing deleted: pass --force to delete without being asked");
            }
            let deleted = acls::delete(&cluster, &filters).await?;
            print(format, &deleted)
        }
    }
}

fn list_filters(
    resources: &Resources,
    principal: Option<String>,
) -> anyhow::Result<Vec<AclFilter>> {
    let pattern = resources.pattern(PatternType::Any)?;
    let named = resources.named();
    if named.is_empty() {
        return Ok(vec![AclFilter {
            principal,
            ..AclFilter::default()
        }]);
    }
    Ok(named
        .into_iter()
        .map(|(resource_type, name)| AclFilter {
            resource_type,
            resource_name: Some(name),
            pattern_type: pattern,
            principal: principal.clone(),
            ..AclFilter::default()
        })
        .collect())
}

fn operations(grants: &Grants, default: Operation) -> anyhow::Result<Vec<Operation>> {
    if grants.operations.is_empty() {
        return Ok(vec![default]);
    }
    Ok(grants
        .operations
        .iter()
        .map(|o| Operation::parse(o))
        .collect::<Result<_, _>>()?)
}

/// Every (permission, principal, host) the grants name.
fn who(grants: &Grants) -> Vec<(Permission, String, String)> {
    let hosts = |hosts: &[String]| {
        if hosts.is_empty() {
            vec!["*".to_string()]
        } else {
            hosts.to_vec()
        }
    };
    let mut out = Vec::new();
    for (permission, principals, host_list) in [
        (
            Permission::Allow,
            &grants.allow_principals,
            &grants.allow_hosts,
        ),
        (
            Permission::Deny,
            &grants.deny_principals,
            &grants.deny_hosts,
        ),
    ] {
        for principal in principals {
            for host in hosts(host_list) {
                out.push((permission, principal.clone(), host));
            }
        }
    }
    out
}

fn check_principal(principal: &str) -> anyhow::Result<()> {
    match principal.split_once(':') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(()),
        _ => anyhow::bail!("principal '{principal}' is not TYPE:NAME (for example User:alice)"),
    }
}

fn bindings(resources: &Resources, grants: &Grants) -> anyhow::Result<Vec<AclBinding>> {
    let pattern = resources.pattern(PatternType::Literal)?;
    if !matches!(pattern, PatternType::Literal | PatternType::Prefixed) {
        anyhow::bail!("create takes --resource-pattern-type literal or prefixed, not {pattern}");
    }
    let named = resources.named();
    if named.is_empty() {
        anyhow::bail!("name a resource: --topic, --group, --cluster or --transactional-id");
    }
    let who = who(grants);
    if who.is_empty() {
        anyhow::bail!("name a principal: --allow-principal or --deny-principal");
    }
    let operations = operations(grants, Operation::All)?;
    let mut out = Vec::new();
    for (resource_type, name) in &named {
        for (permission, principal, host) in &who {
            check_principal(principal)?;
            for operation in &operations {
                out.push(AclBinding {
                    resource_type: *resource_type,
                    resource_name: name.clone(),
                    pattern_type: pattern,
                    principal: principal.clone(),
                    host: host.clone(),
                    operation: *operation,
                    permission: *permission,
                });
            }
        }
    }
    Ok(out)
}

fn delete_filters(resources: &Resources, grants: &Grants) -> anyhow::Result<Vec<AclFilter>> {
    let pattern = resources.pattern(PatternType::Literal)?;
    let named = resources.named();
    if named.is_empty() {
        anyhow::bail!("name a resource: --topic, --group, --cluster or --transactional-id");
    }
    let operations = operations(grants, Operation::Any)?;
    let who = who(grants);
    let mut out = Vec::new();
    for (resource_type, name) in &named {
        for operation in &operations {
            let base = AclFilter {
                resource_type: *resource_type,
                resource_name: Some(name.clone()),
                pattern_type: pattern,
                operation: *operation,
                ..AclFilter::default()
            };
            if who.is_empty() {
                out.push(base);
                continue;
            }
            for (permission, principal, host) in &who {
                check_principal(principal)?;
                out.push(AclFilter {
                    principal: Some(principal.clone()),
                    host: Some(host.clone()),
                    permission: *permission,
                    ..base.clone()
                });
            }
        }
    }
    Ok(out)
}

fn print(format: Format, bindings: &[AclBinding]) -> anyhow::Result<()> {
    match format {
        Format::Json => output::print_json(&bindings),
        Format::Table => {
            let mut table = Table::new(&[
                "PRINCIPAL",
                "HOST",
                "OPERATION",
                "PERMISSION",
                "RESOURCE",
                "NAME",
                "PATTERN",
            ]);
            for b in bindings {
                table.row(vec![
                    b.principal.clone(),
                    b.host.clone(),
                    b.operation.to_string(),
                    b.permission.to_string(),
                    b.resource_type.to_string(),
                    b.resource_name.clone(),
                    b.pattern_type.to_string(),
                ]);
            }
            table.print()
        }
    }
}
