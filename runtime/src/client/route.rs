//! Where each operation of an API version is: the one table a generated crate writes of its
//! operations, which its operation list, the client's docs and the fake daemon's routing read.

/// One operation's place in the API, as the spec gives it, and how the crate's client calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The spec's operation id, e.g. `ContainerInspect`.
    pub operation: &'static str,
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// The path template after the version prefix, e.g. `/containers/{id}/json`.
    pub path: &'static str,
    /// How the crate's client reaches it, e.g. `containers().inspect`; the fake daemon's setter
    /// of its answer has the same path.
    pub call: &'static str,
}

impl Route {
    /// A route, its fields in the order they are declared: what a generated route table writes,
    /// one line per operation.
    pub const fn new(operation: &'static str, method: &'static str, path: &'static str, call: &'static str) -> Route {
        Route {
            operation,
            method,
            path,
            call,
        }
    }
}

/// The operation ids of `routes`, in their order, as a generated crate's `OPERATIONS` lists
/// them; `N` is the number of routes (a shorter or longer `N` fails the crate's build).
pub const fn operation_ids<const N: usize>(routes: &[Route]) -> [&'static str; N] {
    assert!(routes.len() == N, "N is the number of routes");
    let mut ids = [""; N];
    let mut index = 0;
    while index < N {
        ids[index] = routes[index].operation;
        index += 1;
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[Route] = &[
        Route::new("ContainerList", "GET", "/containers/json", "containers().list"),
        Route::new(
            "ContainerAttachWebsocket",
            "GET",
            "/containers/{id}/attach/ws",
            "containers().attach_websocket",
        ),
    ];
    const OPERATIONS: &[&str] = &operation_ids::<2>(ROUTES);

    #[test]
    fn the_operation_list_is_read_from_the_routes() {
        assert_eq!(OPERATIONS, ["ContainerList", "ContainerAttachWebsocket"]);
    }
}
