import Foundation
import Testing
import TestSupport

/// Debian's headless browser; nil when it is not installed (`.ci/run` installs it).
let chromiumPath: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// `testbed report --html` end to end: three real runs make a history (a regression as an
/// environment fact moves, a flaky flip, a setup that fails once, an unsupported test), and the
/// page is opened in real headless Chromium with the network blocked.
@Suite("dashboard in a browser", .timeLimit(.minutes(3)))
struct DashboardBrowserTests {
    /// The suite, its environment file (kernel `kernel`), and switches in the tree that make things fail.
    static func history() throws -> (TemporaryTree, [String]) {
        let tree = try TemporaryTree()
        try tree.write("suite/testbed.yaml", """
            setups:
              guest-image:
                run: 'test ! -e \(tree["break-setup"])'
            tests:
              net/virtio: 'test ! -e \(tree["break-virtio"])'
              net/flaky: 'test ! -e \(tree["flip"])'
              img/boot:
                run: 'true'
                setup: [guest-image]
              disk/kvm:
                run: 'true'
                requires: [dashboard-test-fact-nobody-has]
            """)
        var ids: [String] = []
        for (index, kernel) in ["6.1.0-13", "6.1.0-13", "6.1.0-15"].enumerated() {
            try tree.write("env/lab.yaml", "facts:\n  kernel: \(kernel)\n")
            // Run 1: the setup fails (its test is blocked); run 2: /net/flaky fails; run 3: /net/virtio fails, on a newer kernel.
            let switches = [["break-setup"], ["flip"], ["break-virtio"]][index]
            for name in ["flip", "break-setup", "break-virtio"] {
                if switches.contains(name) { try tree.write(name, "") } else { try? FileManager.default.removeItem(atPath: tree[name]) }
            }
            let run = try testbed(["run", ".", "-e", tree["env/lab.yaml"], "-q"], in: tree["suite"])
            #expect([0, 1, 2, 3].contains(run.status), "\(run.stderr)")
            ids.append(try #require(try testbed(["report", "--list"], in: tree["suite"]).stdout.split(separator: " ").first.map(String.init)))
            usleep(20_000)
        }
        return (tree, ids)
    }

    /// The host the runs recorded (this host's name, as `testbed runs --json` has it).
    static func recordedHost(_ tree: TemporaryTree) throws -> String {
        let listed = try testbed(["runs", "--json"], in: tree["suite"])
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]], "\(listed.stdout)")
        return try #require(runs.first?["host"] as? String, "\(listed.stdout)")
    }

    /// Chromium's arguments: headless, no sandbox (root), its own profile, and every name resolving to nothing
    /// and every request sent to a proxy nobody listens on: the page can reach no network.
    static func chromium(_ tree: TemporaryTree, _ extra: [String]) throws -> Result {
        try runProgram(chromiumPath ?? "chromium", [
            "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(tree["chromium-profile"])",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--no-first-run",
            "--log-net-log=\(tree["netlog.json"])",
        ] + extra)
    }

    @Test("the page in Chromium: the expected rows, cells linking to logs that exist, a screenshot that is not blank, no request",
          .enabled(if: chromiumPath != nil, "chromium is not installed (apt-get install chromium): the browser test is skipped"))
    func browser() throws {
        let (tree, ids) = try Self.history()
        let host = try Self.recordedHost(tree)
        let page = tree["site/dashboard.html"]
        try FileManager.default.createDirectory(atPath: tree["site"], withIntermediateDirectories: true)
        let written = try testbed(["report", "--html", page, "--last", "10"], in: tree["suite"])
        #expect(written.status == 0, "\(written.stderr)")
        #expect(written.stderr.contains("dashboard of 3 runs and 4 tests written to \(page)"), "\(written.stderr)")

        let dom = try Self.chromium(tree, ["--dump-dom", "file://" + page])
        #expect(dom.status == 0, "\(dom.stderr)")
        let html = dom.stdout
        // The regression, named with the fact that changed.
        let regression = try #require(html.range(of: #"<tr class="reg" data-t="/net/virtio">"#), "\(html)")
        let row = html[regression.lowerBound...].components(separatedBy: "</tr>").first ?? ""
        #expect(row.contains("pass → fail"), "\(row)")
        #expect(row.contains("kernel 6.1.0-13 → 6.1.0-15"), "\(row)")
        #expect(row.contains(ids[1]), "last passed in the second run: \(row)")
        // The flaky flip, the fix, the setup that failed, the unsupported test and why.
        #expect(html.contains(#"<tr data-t="/net/flaky"><td class="id">/net/flaky</td><td>2</td>"#), "\(html)")
        #expect(html.contains(#"<details id="fixes" open=""><summary><strong>Fixes (1)</strong></summary><ul><li><code>/net/flaky</code>"#))
        #expect(html.contains(#"<td><code>guest-image</code></td><td class="o-fail">1</td><td>1</td><td>3</td>"#), "\(html)")
        #expect(html.contains(#"<td><code>\#(host)</code></td><td class="o-fail">1</td>"#), "\(html)")
        #expect(html.contains(#"<tr data-t="/disk/kvm"><td class="id">/disk/kvm</td><td><pre class="reason">"#), "\(html)")
        #expect(html.contains("dashboard-test-fact-nobody-has"))
        // The script made one cell per run, each a link (with a title) to a log that exists, relative to the page.
        let cells = html.components(separatedBy: #"<a href=""#).dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
            .filter { $0.hasSuffix("/output.log") }
        let virtioCells = cells.filter { $0.hasSuffix("/tests/net~virtio/output.log") }
        #expect(virtioCells.count >= 3, "\(cells)")
        for link in Set(cells) {
            #expect(link.hasPrefix("../suite/testbed-results/"), "\(link)")
            #expect(FileManager.default.fileExists(atPath: tree["site"] + "/" + link), "\(link) does not exist")
        }
        #expect(html.contains(#"class="c f" title="\#(ids[2]) · \#(host) · lab · "#), "\(html)")
        #expect(html.contains(#"class="c b" title="\#(ids[0]) · \#(host) · lab · "#), "the blocked run's cell: \(html)")
        // No external reference anywhere in the page.
        for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "@import", "url(", "<link", "<iframe"] {
            #expect(!html.contains(external), "\(external)")
        }

        // The filter box, filled in from the address: only the rows of matching tests stay shown.
        let filtered = try Self.chromium(tree, ["--dump-dom", "file://" + page + "#filter=flaky"]).stdout
        #expect(filtered.contains(#"<tr data-t="/net/virtio" data-l="tests/net~virtio" class="hidden">"#), "\(filtered)")
        #expect(filtered.contains(#"<tr data-t="/net/flaky" data-l="tests/net~flaky""#), "\(filtered)")
        #expect(!filtered.contains(#"<tr data-t="/net/flaky" data-l="tests/net~flaky" class="hidden">"#), "\(filtered)")
        #expect(filtered.contains(#"<details class="group hidden""#), "the groups without a match are hidden")
        #expect(!html.contains(#"class="hidden""#), "nothing is hidden without a filter")

        let shot = tree["dashboard.png"]
        let screenshot = try Self.chromium(tree, ["--screenshot=\(shot)", "--window-size=1280,2000", "--hide-scrollbars", "file://" + page])
        #expect(screenshot.status == 0, "\(screenshot.stderr)")
        let png = try #require(FileManager.default.contents(atPath: shot))
        #expect(png.count > 30_000, "a blank 1280x2000 PNG is a few kB; this one is \(png.count) bytes")
        // Decoded by python3's zlib: the pixels hold many colours (a blank page has one).
        let colours = try runProgram("/usr/bin/python3", ["-c", """
            import struct, sys, zlib
            data = open(sys.argv[1], 'rb').read()
            assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
            pos, idat, width = 8, b'', 0
            while pos < len(data):
                length, kind = struct.unpack('>I4s', data[pos:pos + 8])
                if kind == b'IHDR': width, height, depth, colour = struct.unpack('>IIBB', data[pos + 8:pos + 18])
                if kind == b'IDAT': idat += data[pos + 8:pos + 8 + length]
                pos += 12 + length
            raw = zlib.decompress(idat)
            stride = len(raw) // height
            rows = set(raw[y * stride + 1:(y + 1) * stride] for y in range(0, height, 7))
            print(width, height, len(rows))
            """, shot])
        #expect(colours.status == 0, "\(colours.stderr)")
        let figures = colours.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(figures.count == 3 && figures[0] == 1280 && figures[1] == 2000, "\(colours.stdout)")
        #expect(figures.count == 3 && figures[2] > 50, "distinct sampled rows of pixels: \(colours.stdout)")
        if let keep = ProcessInfo.processInfo.environment["TESTBED_DASHBOARD_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: shot, toPath: keep)
        }

        // Chromium's own log of network events: the page asked for nothing.
        #expect(try Self.pageRequests(tree["netlog.json"]) == [])
    }

    /// The requests a page made, from Chromium's net log (`--log-net-log`): URL requests whose initiator is
    /// an origin (a `file://` page's is `null`); the browser's own (its updater, say) have none.
    static func pageRequests(_ netlog: String) throws -> [String] {
        let found = try runProgram("/usr/bin/python3", ["-c", """
            import json, sys
            log = json.load(open(sys.argv[1]))
            names = {number: name for name, number in log['constants']['logEventTypes'].items()}
            for event in log['events']:
                params = event.get('params', {})
                if names.get(event['type']) == 'URL_REQUEST_START_JOB' and 'url' in params and params.get('initiator') != 'not an origin':
                    print(params['url'])
            """, netlog])
        #expect(found.status == 0, "\(found.stderr)")
        return found.stdout.split(separator: "\n").map(String.init)
    }

    @Test("the net-log check sees a page's request: a page with an external image and script is caught",
          .enabled(if: chromiumPath != nil, "chromium is not installed (apt-get install chromium): the browser test is skipped"))
    func netlogCatchesRequests() throws {
        let tree = try TemporaryTree(["bad.html": #"<html><body><img src="http://example.invalid/x.png"></body></html>"#])
        let shown = try Self.chromium(tree, ["--dump-dom", "file://" + tree["bad.html"]])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(try Self.pageRequests(tree["netlog.json"]) == ["http://example.invalid/x.png"])
    }

    @Test("--html takes no RUN nor another format; --last needs --html; an unwritable file is exit 73")
    func usage() throws {
        let tree = try TemporaryTree(smallSuite)
        _ = try testbed(["run", "."], in: tree.path)
        let withRun = try testbed(["report", "latest", "--html", "x.html"], in: tree.path)
        #expect(withRun.status == 64)
        #expect(withRun.stderr.contains("--html writes the dashboard of the newest runs and takes no RUN; choose one"), "\(withRun.stderr)")
        let json = try testbed(["report", "--json", "--html", "x.html"], in: tree.path)
        #expect(json.status == 64)
        let last = try testbed(["report", "--last", "5"], in: tree.path)
        #expect(last.status == 64)
        #expect(last.stderr.contains("--last 5 goes with --html FILE; add it"), "\(last.stderr)")
        let nowhere = try testbed(["report", "--html", tree["no/such/dir/x.html"]], in: tree.path)
        #expect(nowhere.status == 73, "\(nowhere.stderr)")
        #expect(nowhere.stderr.contains("cannot write the dashboard to \(tree["no/such/dir/x.html.tmp"])"), "\(nowhere.stderr)")
        let here = try testbed(["report", "--html", "testbed-results/index.html"], in: tree.path)
        #expect(here.status == 0, "\(here.stderr)")
        let html = String(decoding: FileManager.default.contents(atPath: tree["testbed-results/index.html"]) ?? Data(), as: UTF8.self)
        #expect(html.contains("<h1>Testbed dashboard</h1>"))
        #expect(!FileManager.default.fileExists(atPath: tree["testbed-results/index.html.tmp"]))
    }
}
