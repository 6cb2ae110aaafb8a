//! Console tests: screens drawn from fixtures into ratatui's TestBackend and compared with
//! insta snapshots, key sequences driven through the app state machine, and an end-to-end
//! run of the real binary in tmux.
