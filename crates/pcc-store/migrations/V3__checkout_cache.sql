-- Last known git details of a session's worktree (PRODUCT.md §2.4). `status` shows them when a
-- fresh look would not fit its time budget, with the time they were taken (`git_checked_ms`, milliseconds since the
-- epoch: the stalest worktree is looked at first, and several are looked at each second).
ALTER TABLE sessions ADD COLUMN git_dirty INTEGER;
ALTER TABLE sessions ADD COLUMN git_ahead INTEGER;
ALTER TABLE sessions ADD COLUMN git_behind INTEGER;
ALTER TABLE sessions ADD COLUMN git_checked_ms INTEGER;
