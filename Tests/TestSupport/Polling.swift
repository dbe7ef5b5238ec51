import Foundation

/// Polls `condition` every 20 ms until it holds or `seconds` pass: a
/// deadline, not a sleep used as synchronization.
/// - Parameters:
///   - seconds: The deadline, in seconds (60 by default).
///   - condition: What to wait for.
/// - Returns: Whether it held before the deadline (or at the last look).
/// - Throws: What `condition` throws.
public func eventually(within seconds: Double = 60, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

/// The state letter of `/proc/PID/stat` (`Z` for a zombie); nil when the process is gone.
/// - Parameter pid: A process id.
/// - Returns: The state letter, or nil.
public func processState(_ pid: pid_t) -> Character? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(close, offsetBy: 2)]
}

/// Whether a process runs no more: gone, or a zombie nobody has reaped yet.
/// - Parameter pid: A process id.
/// - Returns: True when it is gone or a zombie.
public func isGone(_ pid: pid_t) -> Bool {
    if kill(pid, 0) != 0 { return errno == ESRCH }
    return processState(pid).map { $0 == "Z" } ?? true
}

/// Live processes other than this one whose environment holds `entry`
/// (NAME=VALUE), or an entry starting with it when `prefix`.
/// - Parameters:
///   - entry: The `NAME=VALUE` looked for in `/proc/PID/environ`.
///   - prefix: Whether an entry that starts with `entry` counts.
/// - Returns: Their pids, in no order.
public func processes(withEnvironmentEntry entry: String, prefix: Bool) -> [pid_t] {
    let needle = Array(entry.utf8)
    let me = getpid()
    return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name -> pid_t? in
        guard let pid = pid_t(name), pid != me, !isGone(pid),
              let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
        return data.split(separator: 0).contains { prefix ? $0.starts(with: needle) : Array($0) == needle } ? pid : nil
    }
}
