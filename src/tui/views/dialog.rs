//! Dialogs over a screen: create topic, delete topic (type its name to confirm), alter a
//! config, add partitions, reset a group's offsets (a preview of new offsets and lag first,
//! executed on a second enter), delete a group (`y` to confirm), and the cluster's: a leader
//! election, a partition's reassignment (previewed, then followed until done) and a local
//! node's stop, kill or start (`y`; rules in `cluster`), and a transaction's abort on its
//! partitions (`y`). Every dialog is a small form; enter submits, esc cancels. The app hides
//! them all in `--read-only`.

mod cluster;
mod security;

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table};
use ratatui::Frame;

use crate::tui::action::{Action, DialogKind, Request, ResetSpec, TxnAbort};
use crate::tui::event::{Subject, Update};
use crate::tui::model::{ids, or_dash, ResetRow};
use crate::tui::theme::Theme;
use crate::tui::widgets::input::Input;
use cluster::Progress;

/// Preview rows a reset dialog shows.
const PREVIEW_ROWS_MAX: usize = 12;

/// An open dialog.
#[derive(Debug)]
pub struct Dialog {
    pub kind: DialogKind,
    fields: Vec<(&'static str, Input)>,
    focus: usize,
    /// The reset preview, and the field values it was computed for.
    preview: Option<(Vec<ResetRow>, Vec<String>)>,
    /// A submitted reassignment, followed until it completes.
    moving: Option<Progress>,
    error: Option<String>,
}

impl Dialog {
    pub fn new(kind: DialogKind) -> Dialog {
        let fields: Vec<(&'static str, Input)> = match &kind {
            DialogKind::CreateTopic => vec![
                ("name", Input::default()),
                ("partitions", Input::new("1")),
                ("replication factor", Input::new("1")),
                ("configs (k=v,k=v)", Input::default()),
            ],
            DialogKind::DeleteTopic(_) => vec![("type the topic's name", Input::default())],
            DialogKind::AlterConfig { name, value, .. } => vec![
                ("config", Input::new(name.clone())),
                ("value (empty: default)", Input::new(value.clone())),
            ],
            DialogKind::AddPartitions { current, .. } => {
                vec![("total partitions", Input::new((current + 1).to_string()))]
            }
            DialogKind::ResetOffsets { topics, .. } => vec![
                (
                    "topic",
                    Input::new(topics.first().cloned().unwrap_or_default()),
                ),
                ("to", Input::new("earliest")),
            ],
            DialogKind::DeleteGroup(_)
            | DialogKind::Broker { .. }
            | DialogKind::DeleteAcl(_)
            | DialogKind::DeleteUser(_)
            | DialogKind::AbortTransaction(_) => Vec::new(),
            DialogKind::CreateAcl => security::ACL_FIELDS
                .iter()
                .map(|(label, value)| (*label, Input::new(*value)))
                .collect(),
            DialogKind::SetPassword(user) => vec![
                (security::PASSWORD_FIELDS[0], Input::new(user.clone())),
                (security::PASSWORD_FIELDS[1], Input::new("SCRAM-SHA-512")),
                (security::PASSWORD_FIELDS[2], Input::default()),
            ],
            DialogKind::Elect(_) => vec![
                ("election", Input::new("preferred")),
                ("confirm (unclean only)", Input::default()),
            ],
            DialogKind::Reassign { replicas, .. } => {
                vec![("new replicas (ids)", Input::new(ids(replicas)))]
            }
        };
        Dialog {
            kind,
            fields,
            focus: 0,
            preview: None,
            moving: None,
            error: None,
        }
    }

    fn title(&self) -> String {
        match &self.kind {
            DialogKind::CreateTopic => "Create topic".into(),
            DialogKind::DeleteTopic(t) => format!("Delete topic {t}"),
            DialogKind::AlterConfig { topic, .. } => format!("Alter config of {topic}"),
            DialogKind::AddPartitions { topic, current } => {
                format!("Add partitions to {topic} (has {current})")
            }
            DialogKind::ResetOffsets { group, .. } => format!("Reset offsets of {group}"),
            DialogKind::DeleteGroup(g) => format!("Delete group {g}"),
            DialogKind::Elect(scope) => format!("Leader election for {scope}"),
            DialogKind::Reassign {
                topic, partition, ..
            } => format!("Reassign {topic}-{partition}"),
            DialogKind::Broker { id, op } => format!("{} broker {id}", capitalized(op.verb())),
            DialogKind::CreateAcl => "Create ACL".into(),
            DialogKind::DeleteAcl(_) => "Delete ACL".into(),
            DialogKind::SetPassword(_) => "Set a SCRAM password".into(),
            DialogKind::DeleteUser(u) => format!("Delete user {u}"),
            DialogKind::AbortTransaction(t) => format!("Abort transaction {}", t.id),
        }
    }

    /// Whether `y` and `n` answer the dialog (it has no fields).
    fn is_question(&self) -> bool {
        matches!(
            self.kind,
            DialogKind::DeleteGroup(_)
                | DialogKind::Broker { .. }
                | DialogKind::DeleteAcl(_)
                | DialogKind::DeleteUser(_)
                | DialogKind::AbortTransaction(_)
        )
    }

    /// Requests that follow a submitted reassignment until it completes.
    pub fn refresh(&self) -> Vec<Request> {
        match self.moving {
            Some(Progress::Sent | Progress::Moving(_)) => vec![Request::Reassignments],
            _ => Vec::new(),
        }
    }

    /// Whether a submitted request keeps the dialog open (a reset preview; a reassignment,
    /// which the dialog follows).
    pub fn stays_open_for(request: &Request) -> bool {
        matches!(
            request,
            Request::ResetPreview { .. } | Request::Reassign { .. }
        )
    }

    fn values(&self) -> Vec<String> {
        self.fields
            .iter()
            .map(|(_, f)| f.text.trim().to_string())
            .collect()
    }

    /// Handles a key: esc closes, tab and arrows move, enter submits.
    pub fn handle_key(&mut self, key: &KeyEvent) -> Action {
        match key.code {
            KeyCode::Esc => return Action::CloseDialog,
            KeyCode::Enter => {
                return match self.submit() {
                    Ok(action) => action,
                    Err(e) => {
                        self.error = Some(e);
                        Action::None
                    }
                }
            }
            KeyCode::Tab | KeyCode::Down => {
                self.focus = (self.focus + 1) % self.fields.len().max(1);
            }
            KeyCode::BackTab | KeyCode::Up => {
                let n = self.fields.len().max(1);
                self.focus = (self.focus + n - 1) % n;
            }
            KeyCode::Char('y') if self.is_question() => {
                return self.submit().unwrap_or(Action::None);
            }
            KeyCode::Char('n') if self.is_question() => {
                return Action::CloseDialog;
            }
            _ => {
                if let Some((_, field)) = self.fields.get_mut(self.focus) {
                    let _ = field.handle_key(key);
                }
            }
        }
        Action::None
    }

    /// The request the form describes, or what is wrong with it.
    fn submit(&mut self) -> Result<Action, String> {
        let v = self.values();
        let request = match &self.kind {
            DialogKind::CreateTopic => create_topic(&v)?,
            DialogKind::DeleteTopic(topic) => {
                if v[0] != *topic {
                    return Err(format!("type '{topic}' to delete it"));
                }
                Request::DeleteTopic(topic.clone())
            }
            DialogKind::AlterConfig { topic, .. } => {
                if v[0].is_empty() {
                    return Err("config name is empty".into());
                }
                let (set, delete) = if v[1].is_empty() {
                    (Vec::new(), vec![v[0].clone()])
                } else {
                    (vec![(v[0].clone(), v[1].clone())], Vec::new())
                };
                Request::AlterConfig {
                    topic: topic.clone(),
                    set,
                    delete,
                }
            }
            DialogKind::AddPartitions { topic, current } => {
                let total: i32 = number(&v[0], "total partitions")?;
                if usize::try_from(total).map_or(true, |t| t <= *current) {
                    return Err(format!("total must be more than {current}"));
                }
                Request::AddPartitions {
                    topic: topic.clone(),
                    total,
                }
            }
            DialogKind::ResetOffsets { group, .. } => return self.reset(group.clone(), v),
            DialogKind::DeleteGroup(g) => Request::DeleteGroup(g.clone()),
            DialogKind::Broker { id, op } => Request::Broker { id: *id, op: *op },
            DialogKind::CreateAcl => security::acl(&v)?,
            DialogKind::DeleteAcl(b) => Request::DeleteAcl(b.clone()),
            DialogKind::SetPassword(_) => security::password(&v)?,
            DialogKind::DeleteUser(u) => Request::DeleteUser(u.clone()),
            DialogKind::AbortTransaction(t) => Request::AbortTransaction(t.clone()),
            DialogKind::Elect(scope) => cluster::election(scope, &v[0], &v[1])?,
            DialogKind::Reassign {
                topic,
                partition,
                brokers,
                ..
            } => {
                if matches!(self.moving, Some(Progress::Complete | Progress::Failed(_))) {
                    return Ok(Action::CloseDialog);
                }
                if self.moving.is_some() {
                    return Err("already moving; esc closes this dialog (the move goes on)".into());
                }
                let replicas = cluster::new_replicas(&v[0], brokers)?;
                self.moving = Some(Progress::Sent);
                self.error = None;
                Request::Reassign {
                    topic: topic.clone(),
                    partition: *partition,
                    replicas,
                }
            }
        };
        Ok(Action::Run(request))
    }

    fn reset(&self, group: String, v: Vec<String>) -> Result<Action, String> {
        if let Some((rows, for_values)) = &self.preview {
            if *for_values == v {
                return Ok(Action::Run(Request::ResetExecute {
                    group,
                    rows: rows.clone(),
                }));
            }
        }
        if v[0].is_empty() {
            return Err("topic is empty".into());
        }
        let spec = parse_reset(&v[1], crate::client::produce::now_ms())?;
        Ok(Action::Run(Request::ResetPreview {
            group,
            topic: v[0].clone(),
            spec,
        }))
    }

    /// Takes the reset preview.
    pub fn update(&mut self, update: &Update) {
        match update {
            Update::ResetPreview { group, rows } => {
                if matches!(&self.kind, DialogKind::ResetOffsets { group: g, .. } if g == group) {
                    self.preview = Some((rows.clone(), self.values()));
                    self.error = None;
                }
            }
            Update::Failed {
                subject: Subject::ResetPreview(_),
                error,
            } => {
                self.error = Some(error.clone());
            }
            Update::Done {
                subject: Subject::Reassign(t, p),
                error: Some(e),
                ..
            } if self.is_reassigning(t, *p) => self.moving = Some(Progress::Failed(e.clone())),
            Update::Reassignments(listed) => {
                if let DialogKind::Reassign {
                    topic, partition, ..
                } = &self.kind
                {
                    let mine = listed
                        .iter()
                        .find(|r| r.topic == *topic && r.partition == *partition);
                    self.moving = match (&self.moving, mine) {
                        (Some(Progress::Sent | Progress::Moving(_)), Some(r)) => {
                            Some(Progress::Moving(r.clone()))
                        }
                        (Some(Progress::Sent | Progress::Moving(_)), None) => {
                            Some(Progress::Complete)
                        }
                        (other, _) => other.clone(),
                    };
                }
            }
            _ => {}
        }
    }

    fn is_reassigning(&self, t: &str, p: i32) -> bool {
        matches!(&self.kind, DialogKind::Reassign { topic, partition, .. } if topic == t && *partition == p)
    }

    /// Draws the dialog centred over `area`.
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let preview_rows = self
            .preview
            .as_ref()
            .map_or(0, |(r, _)| r.len().min(PREVIEW_ROWS_MAX));
        let extra = if self.preview.is_some() {
            preview_rows + 3
        } else {
            0
        };
        // The reassign dialog's brokers, preview and progress lines, and the abort dialog's
        // question (one line fits anyway).
        let lines_below = match self.kind {
            DialogKind::Reassign { .. } => 2,
            DialogKind::AbortTransaction(_) => 3,
            _ => 0,
        };
        let height = u16::try_from(self.fields.len() + extra + lines_below + 5).unwrap_or(u16::MAX);
        let popup = centered(area, 72, height);
        frame.render_widget(Clear, popup);
        let block = Block::new()
            .borders(Borders::ALL)
            .border_style(theme.title())
            .title(Line::styled(format!(" {} ", self.title()), theme.title()));
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let mut lines: Vec<Line> = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, (label, field))| {
                let focused = i == self.focus;
                let cursor = if focused { "▏" } else { "" };
                let shown = if label.contains("password") {
                    "•".repeat(field.text.chars().count())
                } else {
                    field.text.clone()
                };
                Line::from(vec![
                    Span::styled(
                        format!("{label:>22}: "),
                        if focused { theme.title() } else { theme.dim() },
                    ),
                    Span::styled(format!("{shown}{cursor}"), theme.input()),
                ])
            })
            .collect();
        match &self.kind {
            DialogKind::DeleteGroup(_) => {
                lines.push(Line::raw("Delete this group and its committed offsets?"));
            }
            DialogKind::Broker { id, op } => {
                lines.push(Line::raw(cluster::broker_question(*id, *op)));
            }
            DialogKind::DeleteAcl(b) => {
                lines.push(Line::raw(crate::client::acls::describe_binding(b)));
            }
            DialogKind::DeleteUser(u) => {
                lines.push(Line::raw(format!("Delete every SCRAM credential of {u}?")));
            }
            DialogKind::AbortTransaction(t) => lines.extend(abort_question(t)),
            DialogKind::Reassign {
                replicas, brokers, ..
            } => {
                lines.push(Line::styled(
                    format!("up brokers: {}; first id leads", ids(brokers)),
                    theme.dim(),
                ));
                let v = self.values();
                let line = match cluster::new_replicas(&v[0], brokers) {
                    Ok(new) => cluster::preview(replicas, &new),
                    Err(e) => e,
                };
                lines.push(Line::raw(line));
                if let Some(progress) = &self.moving {
                    let style = match progress {
                        Progress::Complete => theme.ok(),
                        Progress::Failed(_) => theme.error(),
                        _ => theme.warn(),
                    };
                    lines.push(Line::styled(cluster::progress_text(progress), style));
                }
            }
            _ => {}
        }
        lines.push(Line::raw(""));
        if let Some(e) = &self.error {
            lines.push(Line::styled(e.clone(), theme.error()));
        } else {
            lines.push(Line::styled(self.hint(), theme.dim()));
        }
        let [form, table] = Layout::vertical([
            Constraint::Length(u16::try_from(lines.len()).unwrap_or(u16::MAX)),
            Constraint::Fill(1),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(lines), form);
        if let Some((rows, _)) = &self.preview {
            render_preview(frame, table, rows, theme);
        }
    }

    fn hint(&self) -> String {
        match &self.kind {
            DialogKind::DeleteGroup(_) => "y: delete  n/esc: cancel".into(),
            DialogKind::Broker { op, .. } => format!("y: {}  n/esc: cancel", op.verb()),
            DialogKind::DeleteAcl(_) | DialogKind::DeleteUser(_) => {
                "y: delete  n/esc: cancel".into()
            }
            DialogKind::AbortTransaction(_) => "y: abort  n/esc: cancel".into(),
            DialogKind::CreateAcl => {
                "Allow|Deny · Read|Write|Describe|All… · Topic|Group|Cluster".into()
            }
            DialogKind::Elect(_) => "preferred | unclean (may lose data: type unclean)".into(),
            DialogKind::Reassign { .. } if self.moving.is_some() => {
                "esc: close (the move goes on)".into()
            }
            DialogKind::Reassign { .. } => "enter: execute  esc: cancel".into(),
            DialogKind::ResetOffsets { .. } if self.preview.is_some() => {
                "enter: execute this reset  esc: cancel  (edit to preview again)".into()
            }
            DialogKind::ResetOffsets { .. } => {
                "to: earliest | latest | offset N | shift ±N | 15m (ago) | 2026-11-25T10:00:00Z; enter: preview".into()
            }
            _ => "enter: submit  tab: next field  esc: cancel".into(),
        }
    }
}

/// Partitions an abort dialog names before it says "and N more".
const ABORT_PARTITIONS_SHOWN_MAX: usize = 4;

/// What an abort dialog asks: which producer, which partitions, and what aborting does.
fn abort_question(t: &TxnAbort) -> Vec<Line<'static>> {
    let mut names: Vec<String> = t
        .partitions
        .iter()
        .take(ABORT_PARTITIONS_SHOWN_MAX)
        .map(|(topic, p)| format!("{topic}-{p}"))
        .collect();
    if t.partitions.len() > ABORT_PARTITIONS_SHOWN_MAX {
        names.push(format!(
            "and {} more",
            t.partitions.len() - ABORT_PARTITIONS_SHOWN_MAX
        ));
    }
    vec![
        Line::raw(format!(
            "Abort the open transaction of producer {} on:",
            t.producer_id
        )),
        Line::raw(names.join(", ")),
        Line::raw("An ABORT marker is written at each partition's leader (KIP-664)"),
        Line::raw("and read_committed readers skip the transaction's records."),
    ]
}

fn render_preview(frame: &mut Frame, area: Rect, rows: &[ResetRow], theme: Theme) {
    let header = Row::new(["TOPIC", "PART", "CURRENT", "NEW", "END", "NEW LAG"])
        .style(theme.column_header());
    let body: Vec<Row> = rows
        .iter()
        .take(PREVIEW_ROWS_MAX)
        .map(|r| {
            Row::new(vec![
                r.topic.clone(),
                r.partition.to_string(),
                or_dash(r.current),
                r.new.to_string(),
                r.end.to_string(),
                (r.end - r.new).max(0).to_string(),
            ])
        })
        .collect();
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(4),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(8),
    ];
    let title = format!(" Preview: {} partitions ", rows.len());
    let table = Table::new(body, widths).header(header).block(
        Block::new()
            .borders(Borders::TOP)
            .border_style(theme.border())
            .title(Line::styled(title, theme.title())),
    );
    frame.render_widget(table, area);
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().collect::<String>() + chars.as_str()
    })
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{what} '{text}' is not a number"))
}

fn create_topic(v: &[String]) -> Result<Request, String> {
    if v[0].is_empty() {
        return Err("name is empty".into());
    }
    let mut configs = Vec::new();
    for item in v[3].split(',').filter(|s| !s.trim().is_empty()) {
        let (k, val) = item
            .split_once('=')
            .ok_or_else(|| format!("config '{item}' is not key=value"))?;
        configs.push((k.trim().to_string(), val.trim().to_string()));
    }
    Ok(Request::CreateTopic {
        name: v[0].clone(),
        partitions: number(&v[1], "partitions")?,
        replication: number(&v[2], "replication factor")?,
        configs,
    })
}

/// Parses a reset target: `earliest`, `latest`, `offset N` (or `N`), `shift ±N` (or `+N`,
/// `-N`), a duration ago (`15m`) or an RFC 3339 time.
pub fn parse_reset(text: &str, now_ms: i64) -> Result<ResetSpec, String> {
    let text = text.trim();
    let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
    let rest = rest.trim();
    let spec = match word {
        "earliest" | "beginning" => ResetSpec::Earliest,
        "latest" | "end" => ResetSpec::Latest,
        "offset" => ResetSpec::Offset(number(rest, "offset")?),
        "shift" => ResetSpec::Shift(number(rest.trim_start_matches('+'), "shift")?),
        _ if word.starts_with(['+', '-']) => {
            ResetSpec::Shift(number(word.trim_start_matches('+'), "shift")?)
        }
        _ if word.parse::<i64>().is_ok() => ResetSpec::Offset(number(word, "offset")?),
        _ => {
            if let Ok(ago) = humantime::parse_duration(text) {
                let ms = i64::try_from(ago.as_millis()).unwrap_or(i64::MAX);
                ResetSpec::Timestamp(now_ms.saturating_sub(ms))
            } else if let Ok(at) = humantime::parse_rfc3339_weak(text) {
                let ms = at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                ResetSpec::Timestamp(ms)
            } else {
                return Err(format!(
                    "'{text}' is not earliest, latest, offset N, shift N, a duration or a time"
                ));
            }
        }
    };
    Ok(spec)
}

/// A `width`×`height` rectangle centred in `area` (clipped to it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_795_600_800_000;

    #[test]
    fn reset_targets_parse() {
        assert_eq!(parse_reset("earliest", NOW_MS), Ok(ResetSpec::Earliest));
        assert_eq!(parse_reset("latest", NOW_MS), Ok(ResetSpec::Latest));
        assert_eq!(parse_reset("offset 10", NOW_MS), Ok(ResetSpec::Offset(10)));
        assert_eq!(parse_reset("10", NOW_MS), Ok(ResetSpec::Offset(10)));
        assert_eq!(parse_reset("shift -5", NOW_MS), Ok(ResetSpec::Shift(-5)));
        assert_eq!(parse_reset("+5", NOW_MS), Ok(ResetSpec::Shift(5)));
        assert_eq!(parse_reset("-5", NOW_MS), Ok(ResetSpec::Shift(-5)));
        assert_eq!(
            parse_reset("1h", NOW_MS),
            Ok(ResetSpec::Timestamp(NOW_MS - 3_600_000))
        );
        assert_eq!(
            parse_reset("2026-11-25T10:00:00Z", NOW_MS),
            Ok(ResetSpec::Timestamp(NOW_MS))
        );
        assert!(parse_reset("soon", NOW_MS).is_err());
    }
}
