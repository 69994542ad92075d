//! The program inside the test plugin: the daemon enables a managed plugin once something
//! accepts connections on the socket its config names, so this listens there and holds each
//! connection until the daemon closes it.

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: plugin-socket /run/docker/plugins/NAME.sock");
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind the plugin socket");
    for connection in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let mut connection = connection;
            let _ = std::io::copy(&mut connection, &mut std::io::sink());
        });
    }
}
