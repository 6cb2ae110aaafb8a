//! The list behind every list screen (Topics, Groups, Brokers, Events): rows, the `/` filter,
//! a sort column and direction, and the selection, which stays on the same row (by key)
//! when data is refreshed, filtered or sorted. Screens say how a row is keyed, matched and
//! compared ([`ListRow`]) and which rows their own toggles keep; clicks, the wheel and the
//! movement keys are handled here once.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::table::ListState;
use crate::tui::keymap::Command;

/// What the list needs to know of a row.
pub trait ListRow {
    /// Identity kept selected across refreshes, and the tie-break of every sort (borrowed
    /// where the row has it, so sorting a large list allocates nothing).
    fn key(&self) -> Cow<'_, str>;
    /// Whether the row matches a lowercased filter (never called with an empty one).
    fn matches(&self, needle_lower: &str) -> bool;
    /// Order by `column` (ties broken by the caller's key order).
    fn compare(&self, other: &Self, column: usize) -> Ordering;
}

/// Rows with filter, sort and selection.
#[derive(Debug, Clone)]
pub struct RowList<R> {
    rows: Vec<R>,
    /// Indexes into `rows` after filter and sort, in display order.
    shown: Vec<usize>,
    filter: String,
    columns: usize,
    sort: usize,
    reverse: bool,
    pub list: ListState,
}

impl<R: ListRow> RowList<R> {
    /// An empty list of `columns` sortable columns, sorted by `sort`.
    pub fn new(columns: usize, sort: usize) -> Self {
        RowList {
            rows: Vec::new(),
            shown: Vec::new(),
            filter: String::new(),
            columns,
            sort,
            reverse: false,
            list: ListState::default(),
        }
    }

    pub fn rows(&self) -> &[R] {
        &self.rows
    }

    /// Rows shown.
    pub fn len(&self) -> usize {
        self.shown.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }

    /// The `i`th row shown.
    pub fn shown(&self, i: usize) -> &R {
        &self.rows[self.shown[i]]
    }

    /// Rows shown, in order.
    pub fn shown_rows(&self) -> impl Iterator<Item = &R> {
        self.shown.iter().map(|&i| &self.rows[i])
    }

    pub fn selected(&self) -> Option<&R> {
        self.shown.get(self.list.selected).map(|&i| &self.rows[i])
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// `(shown/total) sorted by COLUMN ↓` for a table's title, the column named by `headers`.
    pub fn caption(&self, headers: &[&str]) -> String {
        format!(
            "({}/{}) sorted by {} {}",
            self.shown.len(),
            self.rows.len(),
            self.sort_by_name(headers),
            if self.reverse { "↑" } else { "↓" }
        )
    }

    /// The sort column's header, lowercased.
    fn sort_by_name(&self, headers: &[&str]) -> String {
        headers
            .get(self.sort)
            .map_or_else(String::new, |h| h.to_lowercase())
    }

    /// New data; `keep` is the screen's own choice of rows (internal topics, unhealthy only).
    pub fn set_rows(&mut self, rows: Vec<R>, keep: impl Fn(&R) -> bool, height: usize) {
        let selected = self.selected().map(|r| r.key().into_owned());
        self.rows = rows;
        self.recompute_keeping(selected, keep, height);
    }

    /// A new filter; the selection goes to the first match.
    pub fn set_filter(&mut self, filter: &str, keep: impl Fn(&R) -> bool, height: usize) {
        filter.clone_into(&mut self.filter);
        self.list.selected = 0;
        self.recompute_keeping(None, keep, height);
    }

    /// The next sort column.
    pub fn next_sort(&mut self, keep: impl Fn(&R) -> bool, height: usize) {
        self.sort = (self.sort + 1) % self.columns.max(1);
        self.recompute(keep, height);
    }

    pub fn toggle_reverse(&mut self, keep: impl Fn(&R) -> bool, height: usize) {
        self.reverse = !self.reverse;
        self.recompute(keep, height);
    }

    /// Filters and sorts again (after a screen's own toggle changed `keep`).
    pub fn recompute(&mut self, keep: impl Fn(&R) -> bool, height: usize) {
        let selected = self.selected().map(|r| r.key().into_owned());
        self.recompute_keeping(selected, keep, height);
    }

    fn recompute_keeping(
        &mut self,
        selected: Option<String>,
        keep: impl Fn(&R) -> bool,
        height: usize,
    ) {
        let needle = self.filter.to_lowercase();
        let rows = &self.rows;
        let mut shown: Vec<usize> = (0..rows.len())
            .filter(|&i| keep(&rows[i]) && (needle.is_empty() || rows[i].matches(&needle)))
            .collect();
        let column = self.sort;
        shown.sort_by(|&a, &b| {
            rows[a]
                .compare(&rows[b], column)
                .then_with(|| rows[a].key().cmp(&rows[b].key()))
        });
        if self.reverse {
            shown.reverse();
        }
        self.shown = shown;
        if let Some(key) = selected {
            if let Some(pos) = self
                .shown
                .iter()
                .position(|&i| rows[i].key() == key.as_str())
            {
                self.list.selected = pos;
            }
        }
        self.list.follow(self.shown.len(), height);
    }

    /// A movement key; returns whether it was one.
    pub fn apply(&mut self, command: Command, height: usize) -> bool {
        self.list.apply(command, self.shown.len(), height)
    }

    /// A click on body row `row` (the table's border and header take the first two).
    pub fn click(&mut self, row: usize, height: usize) {
        let Some(row) = row.checked_sub(2) else {
            return;
        };
        self.list.click(row, self.shown.len());
        self.list.follow(self.shown.len(), height);
    }

    pub fn scroll(&mut self, delta: isize, height: usize) {
        self.list.scroll(delta, self.shown.len(), height);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone)]
    struct Row(&'static str, i32);

    impl ListRow for Row {
        fn key(&self) -> Cow<'_, str> {
            Cow::Borrowed(self.0)
        }
        fn matches(&self, needle: &str) -> bool {
            self.0.contains(needle)
        }
        fn compare(&self, other: &Self, column: usize) -> Ordering {
            match column {
                1 => other.1.cmp(&self.1),
                _ => Ordering::Equal,
            }
        }
    }

    fn names(list: &RowList<Row>) -> Vec<&str> {
        list.shown_rows().map(|r| r.0).collect()
    }

    #[test]
    fn filter_sort_and_the_selection_follows_its_row() {
        let mut list = RowList::new(2, 0);
        let rows = vec![Row("b", 1), Row("a", 3), Row("c", 2)];
        list.set_rows(rows.clone(), |_| true, 10);
        assert_eq!(names(&list), ["a", "b", "c"]);
        let _ = list.apply(Command::Down, 10);
        assert_eq!(list.selected().map(|r| r.0), Some("b"));
        list.next_sort(|_| true, 10);
        assert_eq!(names(&list), ["a", "c", "b"]);
        assert_eq!(list.selected().map(|r| r.0), Some("b"), "kept by key");
        list.toggle_reverse(|_| true, 10);
        assert_eq!(names(&list), ["b", "c", "a"]);
        list.set_rows(vec![Row("b", 1), Row("d", 9)], |r| r.1 < 5, 10);
        assert_eq!(names(&list), ["b"], "the screen's own choice");
        list.set_filter("z", |_| true, 10);
        assert!(list.is_empty());
        assert_eq!(list.selected().map(|r| r.0), None);
        list.set_filter("", |_| true, 10);
        let second = names(&list)[1].to_string();
        list.click(3, 10);
        assert_eq!(
            list.selected().map(|r| r.0),
            Some(second.as_str()),
            "third line, second row"
        );
    }
}
