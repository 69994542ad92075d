//! Child processes under a limit, and their output for failure messages.

/// The child's output once it exits; a child still running after `limit` is killed, and the
/// test fails saying so, rather than waiting forever.
pub fn wait_at_most(child: std::process::Child, limit: std::time::Duration) -> std::process::Output {
    let pid = child.id().to_string();
    let (exited, exit_seen) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let expired = exit_seen.recv_timeout(limit) == Err(std::sync::mpsc::RecvTimeoutError::Timeout);
        if expired {
            let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
        }
        expired
    });
    let output = child.wait_with_output().unwrap();
    let _ = exited.send(());
    assert!(
        !watchdog.join().unwrap(),
        "the program ran longer than {limit:?} and was killed: {}",
        describe_output(&output)
    );
    output
}

/// A child's exit status and output, for a failure message.
pub fn describe_output(output: &std::process::Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `program` with none of the Docker CLI's variables a program under test would otherwise take
/// from the test's own environment but `DOCKER_HOST`, which the caller sets.
pub fn program_without_docker_environment(program: &str) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    for variable in [
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "DOCKER_CONTEXT",
        "DOCKER_API_VERSION",
    ] {
        command.env_remove(variable);
    }
    command
}
