//! One table of key → command per scope. Views look their keys up here, the help overlay is
//! generated from the same table, and commands that write are marked so `--read-only` hides
//! and refuses them.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Open,
    Back,
    Quit,
    Help,
    CommandMode,
    FilterMode,
    Refresh,
    Sort,
    Reverse,
    ToggleInternal,
    NextTab,
    Create,
    Delete,
    EditConfig,
    AddPartitions,
    Tail,
    Produce,
    ResetOffsets,
    Pause,
    Save,
    FromBeginning,
    Send,
    /// Topics: only under-replicated, under-min-ISR or offline topics.
    Unhealthy,
    /// Preferred (or, confirmed by typing, unclean) leader election.
    Elect,
    Reassign,
    StopBroker,
    KillBroker,
    StartBroker,
    /// Transactions: abort the selected transaction on its partitions (KIP-664).
    Abort,
    /// Tail: read_committed ↔ read_uncommitted.
    Isolation,
    /// Tail: show or hide control records (transaction markers).
    ControlRecords,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Topics,
    Topic,
    Brokers,
    Groups,
    Group,
    Tail,
    Produce,
    Events,
    Acls,
    Users,
    Transactions,
}

/// One binding: the keys shown in help, the command, and what it does.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub scope: Scope,
    pub keys: &'static str,
    pub command: Command,
    pub help: &'static str,
}

const fn bind(scope: Scope, keys: &'static str, command: Command, help: &'static str) -> Binding {
    Binding {
        scope,
        keys,
        command,
        help,
    }
}

/// Every binding; keys are space-separated names as [`key_name`] spells them.
pub const BINDINGS: &[Binding] = &[
    bind(Scope::Global, "k up", Command::Up, "move up"),
    bind(Scope::Global, "j down", Command::Down, "move down"),
    bind(Scope::Global, "g home", Command::Top, "first row"),
    bind(Scope::Global, "G end", Command::Bottom, "last row"),
    bind(Scope::Global, "ctrl-b pgup", Command::PageUp, "page up"),
    bind(Scope::Global, "ctrl-f pgdn", Command::PageDown, "page down"),
    bind(Scope::Global, "enter l right", Command::Open, "open"),
    bind(Scope::Global, "esc h left", Command::Back, "back"),
    bind(Scope::Global, "q ctrl-c", Command::Quit, "quit"),
    bind(Scope::Global, "?", Command::Help, "this help"),
    bind(
        Scope::Global,
        ":",
        Command::CommandMode,
        "command (:topics [urp] :groups :brokers :events :acls :users :transactions :tail T :produce T)",
    ),
    bind(Scope::Global, "/", Command::FilterMode, "filter"),
    bind(Scope::Global, "r", Command::Refresh, "refresh now"),
    bind(Scope::Topics, "s", Command::Sort, "sort by next column"),
    bind(Scope::Topics, "S", Command::Reverse, "reverse sort"),
    bind(
        Scope::Topics,
        "i",
        Command::ToggleInternal,
        "show internal topics",
    ),
    bind(
        Scope::Topics,
        "u",
        Command::Unhealthy,
        "only unhealthy topics (URP, min ISR, offline)",
    ),
    bind(
        Scope::Topics,
        "E",
        Command::Elect,
        "elect preferred leaders",
    ),
    bind(Scope::Topics, "c", Command::Create, "create topic"),
    bind(Scope::Topics, "d", Command::Delete, "delete topic"),
    bind(Scope::Topics, "t", Command::Tail, "tail topic"),
    bind(Scope::Topics, "p", Command::Produce, "produce to topic"),
    bind(Scope::Topic, "tab", Command::NextTab, "next tab"),
    bind(Scope::Topic, "e", Command::EditConfig, "alter config"),
    bind(Scope::Topic, "a", Command::AddPartitions, "add partitions"),
    bind(
        Scope::Topic,
        "E",
        Command::Elect,
        "elect leader of partition",
    ),
    bind(Scope::Topic, "R", Command::Reassign, "reassign partition"),
    bind(Scope::Topic, "d", Command::Delete, "delete topic"),
    bind(Scope::Topic, "t", Command::Tail, "tail topic"),
    bind(Scope::Topic, "p", Command::Produce, "produce to topic"),
    bind(Scope::Brokers, "s", Command::Sort, "sort by next column"),
    bind(Scope::Brokers, "S", Command::Reverse, "reverse sort"),
    bind(
        Scope::Brokers,
        "x",
        Command::StopBroker,
        "stop broker (SIGTERM, ktui local)",
    ),
    bind(
        Scope::Brokers,
        "K",
        Command::KillBroker,
        "kill broker (SIGKILL, ktui local)",
    ),
    bind(
        Scope::Brokers,
        "u",
        Command::StartBroker,
        "start broker (ktui local)",
    ),
    bind(Scope::Groups, "s", Command::Sort, "sort by next column"),
    bind(Scope::Groups, "S", Command::Reverse, "reverse sort"),
    bind(Scope::Groups, "o", Command::ResetOffsets, "reset offsets"),
    bind(Scope::Groups, "d", Command::Delete, "delete group"),
    bind(Scope::Group, "o", Command::ResetOffsets, "reset offsets"),
    bind(Scope::Group, "d", Command::Delete, "delete group"),
    bind(Scope::Tail, "space", Command::Pause, "pause / resume"),
    bind(
        Scope::Tail,
        "w",
        Command::Save,
        "save shown records (JSON lines)",
    ),
    bind(
        Scope::Tail,
        "b",
        Command::FromBeginning,
        "restart from the beginning",
    ),
    bind(
        Scope::Tail,
        "i",
        Command::Isolation,
        "isolation: read_committed / read_uncommitted (from here on)",
    ),
    bind(
        Scope::Tail,
        "c",
        Command::ControlRecords,
        "show / hide control records (markers)",
    ),
    bind(Scope::Acls, "s", Command::Sort, "sort by next column"),
    bind(Scope::Acls, "S", Command::Reverse, "reverse sort"),
    bind(Scope::Acls, "c", Command::Create, "create ACL"),
    bind(Scope::Acls, "d", Command::Delete, "delete ACL"),
    bind(Scope::Users, "c", Command::Create, "set a user's password"),
    bind(Scope::Users, "d", Command::Delete, "delete user"),
    bind(
        Scope::Transactions,
        "s",
        Command::Sort,
        "sort by next column",
    ),
    bind(Scope::Transactions, "S", Command::Reverse, "reverse sort"),
    bind(
        Scope::Transactions,
        "a",
        Command::Abort,
        "abort the transaction (KIP-664)",
    ),
    bind(Scope::Events, "s", Command::Sort, "sort by next column"),
    bind(Scope::Events, "S", Command::Reverse, "reverse sort"),
    bind(Scope::Produce, "ctrl-s", Command::Send, "send the record"),
    bind(Scope::Produce, "tab", Command::NextTab, "next field"),
];

impl Command {
    /// Whether the command changes the cluster.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Command::Create
                | Command::Delete
                | Command::EditConfig
                | Command::AddPartitions
                | Command::Produce
                | Command::ResetOffsets
                | Command::Send
                | Command::Elect
                | Command::Reassign
                | Command::StopBroker
                | Command::KillBroker
                | Command::StartBroker
                | Command::Abort
        )
    }
}

/// The name of a key as the table spells it (`j`, `G`, `ctrl-c`, `enter`, `pgdn`).
pub fn key_name(key: &KeyEvent) -> String {
    let base = match key.code {
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::PageUp => "pgup".into(),
        KeyCode::PageDown => "pgdn".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "backtab".into(),
        KeyCode::Backspace => "backspace".into(),
        _ => return String::new(),
    };
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        format!("ctrl-{base}")
    } else {
        base
    }
}

/// The command `key` means in `scope`: the scope's own bindings first, then the global ones.
pub fn lookup(scope: Scope, key: &KeyEvent) -> Option<Command> {
    let name = key_name(key);
    if name.is_empty() {
        return None;
    }
    let matches = |b: &&Binding| b.keys.split(' ').any(|k| k == name);
    BINDINGS
        .iter()
        .filter(|b| b.scope == scope)
        .find(matches)
        .or_else(|| {
            BINDINGS
                .iter()
                .filter(|b| b.scope == Scope::Global)
                .find(matches)
        })
        .map(|b| b.command)
}

/// The bindings help lists for `scope`: its own, then the global ones; without the writing
/// ones in read-only mode.
pub fn help(scope: Scope, read_only: bool) -> Vec<&'static Binding> {
    BINDINGS
        .iter()
        .filter(|b| b.scope == scope)
        .chain(
            BINDINGS
                .iter()
                .filter(|b| b.scope == Scope::Global && scope != Scope::Global),
        )
        .filter(|b| !(read_only && b.command.writes()))
        .collect()
}
