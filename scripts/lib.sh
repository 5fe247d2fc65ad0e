# Shared by the scripts that run `coalition serve` against an outside client (interop.sh,
# fuzz.sh); sourced, not run. Needs `work` (a scratch folder) set by the caller.

# Builds the binary, gives Aroma a fresh key KEY_ID (the private half in $work/KEY_ID.pem),
# serves a fresh SQLite file on a free port with any further `serve` arguments, and waits until it
# answers. Sets `bin`, `base` and `server` (the server's pid, for the caller's trap to stop).
serve_with_key() {
    local key_id=$1
    shift
    cargo build -q
    bin=target/debug/coalition
    cp -r partners "$work/partners"
    # keygen prints the manifest block alone on stdout, as the docs append it.
    "$bin" keygen --out "$work/$key_id" 2>/dev/null >>"$work/partners/aroma.toml"
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    base="http://127.0.0.1:$port"
    RUST_LOG=${RUST_LOG:-warn} "$bin" serve --database "sqlite://$work/$key_id.db" \
        --partners "$work/partners" --listen "127.0.0.1:$port" --network-key "$work/network.pem" "$@" &
    server=$!
    curl -s --retry 100 --retry-connrefused --retry-delay 1 -o /dev/null "$base/readyz"
}
