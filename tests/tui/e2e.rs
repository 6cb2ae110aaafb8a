//! End-to-end: the real `ktui` binary in tmux (filled in below).
