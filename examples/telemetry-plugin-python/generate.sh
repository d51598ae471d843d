#!/bin/sh
# Generates the Python stubs of the telemetry contract into ./generated (or $1),
# with Debian's protoc and grpc_python_plugin.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-"$here/generated"}
mkdir -p "$out"
protoc \
	-I "$root/proto" \
	-I /usr/include \
	--python_out="$out" \
	--grpc_python_out="$out" \
	--plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
	"$root/proto/taskmesh/telemetry/v1/telemetry.proto"
echo "stubs written to $out"
