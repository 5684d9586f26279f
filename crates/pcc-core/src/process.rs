//! Looking at other processes: is a PID running, and when did it start?
//!
//! The start time makes liveness robust against PID reuse: a session is alive only if its PID
//! runs *and* started when the recorded one did. On Linux the start time is field 22 of
//! `/proc/<pid>/stat` (clock ticks since boot); elsewhere only existence is known.

/// What the operating system says about a PID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    /// Running; `start` is its start time when the platform exposes it.
    Running { start: Option<i64> },
    /// No such process (or a zombie: it has exited).
    Gone,
    /// It exists but is not ours to inspect (another user or PID namespace).
    Hidden,
}

pub fn probe(pid: i64) -> ProcState {
    let Ok(pid32) = i32::try_from(pid) else { return ProcState::Gone };
    if pid32 <= 0 {
        return ProcState::Gone;
    }
    #[cfg(target_os = "linux")]
    {
        match read_proc(&format!("/proc/{pid32}/stat")) {
            Ok(stat) => match parse_stat(&stat) {
                Some((state, _)) if state == 'Z' || state == 'X' => return ProcState::Gone,
                Some((_, start)) => return ProcState::Running { start: Some(start) },
                None => return ProcState::Running { start: None },
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ProcState::Gone,
            Err(_) => {}
        }
    }
    let Some(p) = rustix::process::Pid::from_raw(pid32) else { return ProcState::Gone };
    match rustix::process::test_kill_process(p) {
        Ok(()) => ProcState::Running { start: None },
        Err(rustix::io::Errno::PERM) => ProcState::Hidden,
        Err(_) => ProcState::Gone,
    }
}

/// Read a small `/proc` file in one go. The kernel regenerates such a file on every `read`, so the
/// growing-buffer reads of `read_to_string` cost several times more (`status` probes every session).
#[cfg(target_os = "linux")]
fn read_proc(path: &str) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 2048];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(len * 2, 0);
        }
        match file.read(&mut buf[len..])? {
            0 => break,
            n => len += n,
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// The start time of a running process, as [`probe`] reports it.
pub fn start_time(pid: i64) -> Option<i64> {
    match probe(pid) {
        ProcState::Running { start } => start,
        _ => None,
    }
}

/// The process a hook runs for: the hook's parent, or its grandparent when the parent is the
/// `sh -c` Claude Code runs hook commands through.
pub fn agent_parent() -> Option<i64> {
    #[cfg(target_os = "linux")]
    {
        let parent = parent_of("self")?;
        let stat = read_proc(&format!("/proc/{parent}/stat")).ok()?;
        let comm = stat.get(stat.find('(')? + 1..stat.rfind(')')?)?;
        if matches!(comm, "sh" | "bash" | "dash" | "zsh" | "ash" | "busybox") {
            return parent_of(&parent.to_string());
        }
        Some(parent)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Some(i64::from(rustix::process::getppid()?.as_raw_nonzero().get()))
    }
}

/// The parent PID from `/proc/<pid>/stat` (field 4).
#[cfg(target_os = "linux")]
fn parent_of(pid: &str) -> Option<i64> {
    let stat = read_proc(&format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok().filter(|p: &i64| *p > 0)
}

/// (state char, start time) from the contents of `/proc/<pid>/stat`. The command name may hold
/// spaces and parentheses, so fields are counted after the last `)`.
fn parse_stat(stat: &str) -> Option<(char, i64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state come fields 4..; starttime is field 22 overall, i.e. the 19th after state.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_command_names() {
        let stat = "1234 (a) b (c)) S 1 1234 1234 0 -1 4194304 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_stat(stat), Some(('S', 987654)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) Z"), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_agent_of_a_hook_is_its_parent() {
        // The test runner is not started through a shell, so the parent is returned as is.
        let parent = parent_of("self").unwrap();
        assert!(parent > 0);
        assert_eq!(agent_parent(), Some(parent));
    }

    #[test]
    fn own_process_is_running_and_a_huge_pid_is_not() {
        let me = i64::from(std::process::id());
        assert!(matches!(probe(me), ProcState::Running { .. }));
        #[cfg(target_os = "linux")]
        assert!(start_time(me).is_some());
        assert_eq!(probe(0), ProcState::Gone);
        assert_eq!(probe(-5), ProcState::Gone);
        assert_eq!(probe(i64::from(i32::MAX)), ProcState::Gone);
    }
}
