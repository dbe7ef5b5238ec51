import Foundation
import Testing
import TestSupport

/// QEMU is installed, or testbed runs as root and its install-qemu setup can install it.
let qemuAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") || getuid() == 0

/// Command lines of running QEMU virtual machines (started with a QMP socket;
/// concurrent tests' `--version` probes do not count).
func runningQEMU() -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> String? in
        guard Int32(entry) != nil, let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
        let command = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
        let isQEMU = command.hasPrefix("qemu-system") || command.contains("/qemu-system")
        return isQEMU && command.contains(" -qmp ") ? command : nil
    }
}

@Suite("Real QEMU example suite", .serialized, .enabled(if: qemuAvailable, "needs qemu-system-x86_64, or root to install it"))
struct QEMUExampleTests {
    @Test("testbed run examples: QMP and migrations pass, unsupported ones say why, the broken mirror is infrastructure, exit 2")
    func examples() throws {
        let results = try TemporaryTree()
        let run = try testbed(["run", "examples", "--json", "--results", results.path])
        #expect(run.status == 2, "\(run.stderr)")
        let r = Reported(json: try run.json())
        let kvm = r.outcome("/kvm/api.sh") == "pass"
        let expected: [String: String] = [
            "/basic/shell": "pass", "/basic/proc": "pass", "/basic/uname.sh": "pass",
            "/qemu/qmp.py": "pass", "/qemu/version.sh": "pass",
            "/image/qcow2-info": "pass", "/image/boot-alpine.sh": "blocked",
            "/migration/precopy/blob": "pass",
            "/migration/precopy/running-guest[machine=pc,accel=tcg]": "pass",
            "/migration/precopy/running-guest[machine=q35,accel=tcg]": "pass",
            "/migration/precopy/running-guest[machine=pc,accel=kvm]": kvm ? "pass" : "unsupported",
            "/migration/precopy/running-guest[machine=q35,accel=kvm]": kvm ? "pass" : "unsupported",
            "/migration/cross-version": "unsupported",
            "/kernel/future-syscall": "unsupported",
            "/lab/gpu-passthrough": "unsupported", "/lab/windows-virtio": "unsupported", "/lab/libvirt-api": "unsupported",
        ]
        for (id, outcome) in expected { #expect(r.outcome(id) == outcome, "\(id): \(r.test(id))") }
        #expect(r.test("/image/boot-alpine.sh")["blocked_by"] as? String == "guest-image")
        #expect(r.setup("guest-image").first?["outcome"] as? String == "failed")
        #expect((r.test("/migration/cross-version")["reason"] as? String)?.contains("needs qemu-src >= 7.0") == true)
        #expect((r.test("/kernel/future-syscall")["reason"] as? String)?.hasPrefix("needs kernel >= 99.0; this host has ") == true)
        #expect(r.tests.filter { $0["outcome"] as? String == "fail" || $0["outcome"] as? String == "error" }.isEmpty)
        // What the tests said about themselves.
        let qmpLog = try String(contentsOfFile: results["latest/tests/qemu~qmp.py/output.log"], encoding: .utf8)
        #expect(qmpLog.contains("matches the qemu fact; QEMU quit"))
        for machine in ["pc", "q35"] {
            let directory = "latest/tests/migration~precopy~running-guest[machine=\(machine),accel=tcg]"
            let guestLog = try String(contentsOfFile: results[directory + "/output.log"], encoding: .utf8)
            #expect(guestLog.contains("machine pc-\(machine == "pc" ? "i440fx" : "q35")-"), "\(guestLog)")
            #expect(guestLog.contains("guest memory consistent on the destination"))
            #expect(guestLog.contains("both QEMU processes are gone"))
        }
        if kvm {
            let kvmLog = try String(contentsOfFile: results["latest/tests/migration~precopy~running-guest[machine=q35,accel=kvm]/output.log"],
                                    encoding: .utf8)
            #expect(kvmLog.contains("accel kvm"))
        }
        #expect(runningQEMU().isEmpty, "QEMU left behind: \(runningQEMU())")
    }

    @Test("cross-version migration runs with the environment's two binaries")
    func crossVersion() throws {
        let results = try TemporaryTree()
        let run = try testbed(["run", "examples", "--json", "--results", results.path, "--environment",
                               "environments/cross-version.yaml", "--id", "/migration/cross-version"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Reported(json: try run.json()).outcome("/migration/cross-version") == "pass")
        let log = try String(contentsOfFile: results["latest/tests/migration~cross-version/output.log"], encoding: .utf8)
        #expect(log.contains("migrating /usr/bin/qemu-system-x86_64 -> /usr/bin/qemu-system-x86_64, machine pc-i440fx-"))
        #expect(runningQEMU().isEmpty)
    }

    @Test("the migration test catches corrupted memory", arguments: [
        (["--mode", "blob", "--expect-hash", String(repeating: "0", count: 64)], "FAIL: destination RAM at 0x100000 hashes"),
        (["--mode", "blob", "--dest-memory", "256"], "Size mismatch"),
        (["--mode", "guest", "--dest-memory", "64"], "Size mismatch"),
    ])
    func catchesCorruption(arguments: [String], message: String) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") else {
            Issue.record("qemu-system-x86_64 is not installed; run `testbed run examples` as root first (it installs it)")
            return
        }
        let scratch = try TemporaryTree()
        let boot = try run("/usr/bin/env", ["python3", packageRoot.appendingPathComponent("examples/migration/make-bootsector.py").path,
                                            scratch["boot.img"]])
        #expect(boot.status == 0)
        let script = packageRoot.appendingPathComponent("examples/migration/migrate.py").path
        let result = try run("/usr/bin/env", ["BOOT_SECTOR=\(scratch["boot.img"])", "TESTBED_OUTPUT_DIR=\(scratch.path)",
                                              "python3", script] + arguments)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains(message), "\(result.output)")
        #expect(result.output.split(separator: "\n").last?.hasPrefix("FAIL: ") == true)
        #expect(runningQEMU().isEmpty, "QEMU left behind: \(runningQEMU())")
    }
}
