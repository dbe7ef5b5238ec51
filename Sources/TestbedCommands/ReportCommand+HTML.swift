import Dashboard
import Execution
import Foundation
import Results

extension ReportCommand {
    /// `testbed report --html FILE [--last N]`: the dashboard of the newest N runs, written to FILE.
    ///
    /// The page's links to run logs are relative to FILE's directory (`relativePath`), so the page works
    /// opened from disk as long as it stays where it was written relative to the results directory.
    /// The page is written section by section to `FILE.tmp`, which then replaces FILE.
    ///
    /// - Parameters:
    ///   - file: the page's path.
    ///   - store: the results store.
    /// - Throws: `CommandFailure` (66) when the runs cannot be read, (73) when the file cannot be written.
    func writeDashboard(to file: String, store: any RunStore) throws {
        let data: DashboardData
        do {
            data = try DashboardData(store: store, last: last ?? Self.defaultLast)
        } catch {
            throw CommandFailure(error.description, status: ExitPolicy.noSuchRun)
        }
        let path = URL(fileURLWithPath: file).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CommandFailure("\(file) is a directory; name the page's file, e.g. --html \(file.hasSuffix("/") ? file : file + "/")dashboard.html",
                                 status: ExitPolicy.usage)
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let base = DashboardPage.relativePath(from: directory, to: URL(fileURLWithPath: store.directory).standardizedFileURL.path)
        let page = DashboardPage(data: data, linkBase: base)
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw CommandFailure("cannot write the dashboard to \(temporary): \(String(cString: strerror(errno))); "
                + "check that its directory exists and is writable", status: ExitPolicy.cannotCreate)
        }
        var buffer = Data()
        buffer.reserveCapacity(1 << 20)
        do {
            try page.write { piece in
                buffer.append(contentsOf: piece.utf8)
                if buffer.count >= 1 << 20 {
                    try handle.write(contentsOf: buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            try handle.write(contentsOf: buffer)
            try handle.close()
            if rename(temporary, path) != 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            try? handle.close()
            unlink(temporary)
            let why = (error as? POSIXError).map { String(cString: strerror($0.code.rawValue)) } ?? error.localizedDescription
            throw CommandFailure("cannot write the dashboard to \(path): \(why); check the disk and the path",
                                 status: ExitPolicy.cannotCreate)
        }
        let runs = data.runs.count
        writeText("testbed: dashboard of \(runs) run\(runs == 1 ? "" : "s") and \(data.tests.count) tests written to \(file)\n",
                  to: STDERR_FILENO)
    }
}
