"""One run of one benchmark workload with docker-py, Docker's official Python client.

Started by `bench worker docker-py WORKLOAD SOCKET TARGET`, which measures this process's CPU
time and peak RSS; this prints the units handled and the seconds the work took (the interpreter's
start and `import docker` are outside the seconds, inside the CPU time).
"""

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import docker

# The same amounts as bench/src/workers.rs.
PINGS = 5_000
LISTS = 200
INSPECTS = 3_000
INSPECTS_IN_FLIGHT = 32
BUILD_LINES = 20_000


def main():
    workload, socket, target = sys.argv[1:4]
    # A pinned version, as the Rust clients are given: no version request before the work.
    api = docker.APIClient(
        base_url=f"unix://{socket}", version="1.41", max_pool_size=INSPECTS_IN_FLIGHT
    )
    started = time.perf_counter()
    if workload == "ping":
        for _ in range(PINGS):
            api.ping()
        units = PINGS
    elif workload == "list":
        for _ in range(LISTS):
            assert api.containers(all=True)
        units = LISTS
    elif workload == "inspect":
        with ThreadPoolExecutor(INSPECTS_IN_FLIGHT) as pool:
            for inspected in pool.map(lambda _: api.inspect_container(target), range(INSPECTS)):
                assert inspected["Id"]
        units = INSPECTS
    elif workload == "exec":
        units = sum(len(chunk) for chunk in api.exec_start(target, stream=True))
    elif workload == "export":
        units = sum(len(chunk) for chunk in api.export(target))
    elif workload == "build":
        with open(target, "rb") as context:
            messages = api.build(fileobj=context, custom_context=True, nocache=True, decode=True)
            printed = "".join(message.get("stream", "") for message in messages)
        assert str(BUILD_LINES) in printed.splitlines(), "the build output lacks its last line"
        units = BUILD_LINES
    elif workload in ("events", "events-reused"):
        units = sum(1 for _ in api.events(decode=True))
    else:
        sys.exit(f"unknown workload {workload}")
    print(units, time.perf_counter() - started)


if __name__ == "__main__":
    main()
