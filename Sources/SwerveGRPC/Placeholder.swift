// The gRPC frontend is being written.
