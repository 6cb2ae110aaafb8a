//! A text field edited at its end: characters, backspace, ctrl-u to clear, and (when
//! multi-line) enter for a new line.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Characters a field holds at most.
pub const INPUT_CHARS_MAX: usize = 64 * 1024;

/// An editable text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    pub text: String,
    pub multi_line: bool,
}

impl Input {
    /// A field holding `text`.
    pub fn new(text: impl Into<String>) -> Input {
        Input {
            text: text.into(),
            multi_line: false,
        }
    }

    /// Edits the text with `key`; returns whether the key was an edit.
    pub fn handle_key(&mut self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if ctrl => self.text.clear(),
            KeyCode::Char('w') if ctrl => {
                let trimmed = self.text.trim_end().len();
                let cut = self.text[..trimmed].rfind(' ').map_or(0, |i| i + 1);
                self.text.truncate(cut);
            }
            KeyCode::Char(_) if ctrl => return false,
            KeyCode::Char(c) => {
                if self.text.len() < INPUT_CHARS_MAX {
                    self.text.push(c);
                }
            }
            KeyCode::Backspace => {
                let _ = self.text.pop();
            }
            KeyCode::Enter if self.multi_line => self.text.push('\n'),
            _ => return false,
        }
        true
    }
}
