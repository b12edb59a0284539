import ArgumentParser

// Swift's tasks run on the event loops that serve HTTP (`MultiThreadedEventLoopGroup.singleton`,
// which Hummingbird's applications use) instead of a cooperative pool of their own, from before
// any task starts. A request then stays on the thread that read it, from the socket through the
// route, a fast model's inline run (InstancePool) and the answer's write, where the pool cost two
// thread switches per request. Blocking work keeps to threads of its own: model loads
// (Blocking), image decoding (WorkerPool.preprocessing), batches of models that are not fast
// (ExecutionThreads).
GlobalExecutor.installEventLoops()

// What ArgumentParser's asynchronous `main()` does, which `@main` would call: parse, run, exit
// with the error's message and status. Called by name outside `@main`, `Swerve.main()` and an
// existential's `run()` resolve to the synchronous versions, which only print the help; each
// subcommand's own `run() async throws` is called on its concrete type.
do {
    switch try await Swerve.asyncParseAsRoot(nil) {
    case let serve as ServeCommand: try await serve.run()
    case let check as CheckCommand: try await check.run()
    case var command: try command.run()  // ArgumentParser's own: help, version
    }
} catch {
    Swerve.exit(withError: error)
}
