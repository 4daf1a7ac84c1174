import Foundation

/// The private PostgreSQL cluster `scripts/test` started (PG_PRIVATE_PGDATA),
/// for the tests that restart it. Tests run one at a time, so a restart
/// disturbs no other test; `ensureRunning` brings it back whatever happened.
enum PrivateCluster {
    static func dataDirectory() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["PG_PRIVATE_PGDATA"], !path.isEmpty else {
            throw TestSetupError("PG_PRIVATE_PGDATA is not set: run the suite through scripts/test")
        }
        return path
    }

    static func pgCtl() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let path = "\(root)/\(version)/bin/pg_ctl"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TestSetupError("pg_ctl not found under \(root): install the postgresql package")
    }

    /// `pg_ctl ARGS` as the cluster's owner (postgres when we are root); its exit status.
    ///
    /// posix_spawn and waitpid, not Foundation's Process: the server pg_ctl starts
    /// inherits the descriptor Process watches for its child's exit, and
    /// `waitUntilExit` then never returns.
    @discardableResult
    static func pgCtl(_ arguments: [String]) throws -> Int32 {
        let data = try dataDirectory()
        let log = (data as NSString).deletingLastPathComponent + "/server.log"
        var command = [try pgCtl(), "-D", data, "-l", log] + arguments
        if getuid() == 0 { command = ["/usr/sbin/runuser", "-u", "postgres", "--"] + command }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in 0...2 {
            posix_spawn_file_actions_addopen(
                &actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestSetupError("could not start \(command[0]): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// `pg_ctl restart -m fast`: every connection is closed, the server is back when this returns.
    static func restart() throws {
        let status = try pgCtl(["-w", "-t", "60", "-m", "fast", "restart"])
        guard status == 0 else { throw TestSetupError("pg_ctl restart -m fast exited with \(status)") }
    }

    /// Starts the cluster again with the options it last ran with, if it is down.
    static func ensureRunning() {
        guard let data = try? dataDirectory(), (try? pgCtl(["status"])) != 0 else { return }
        // postmaster.opts: the server's last command line, `/path/postgres "-D" "..." "-p" "5432" ...`.
        guard let options = try? String(contentsOfFile: data + "/postmaster.opts", encoding: .utf8),
            let firstSpace = options.firstIndex(of: " ")
        else { return }
        let arguments = options[firstSpace...].trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try? pgCtl(["-w", "-t", "60", "-o", arguments, "start"])
    }
}
