import Foundation

/// Small trees in the field's suite formats, written from the formats' documentation (kvm-unit-tests'
/// `docs/unittests.txt`, the kernel's kselftest documentation), never copied from the projects.
public enum FieldTrees {
    /// A kvm-unit-tests tree: `run_tests.sh` (never run), `config.mak`, a `Makefile` whose `make` leaves `built`,
    /// a `configure` that writes `config.mak`, a fake `x86/run` and fake images. The runner prints what it was started
    /// with (`run: TESTNAME=… ACCEL=…`, one `arg:` line per argument) and runs the image, a bash script, under
    /// `timeout $TIMEOUT`; started on `_NO_FILE_4Uhere_` it says QEMU could not load the kernel, unless the arguments
    /// hold `refuse-tcg` and `ACCEL` is `tcg`: then QEMU refuses the option.
    ///
    /// Sections: `pass` (every running key), `fail` (exit 3), `abort` (127), `skip` (77), `kvm-only` (`accel = kvm`),
    /// `tcg-only`, `other-arch` (`arch = i386`, a `check` of a missing file: two unmet requirements), `checked`
    /// (a `check` this tree satisfies), `manual` (`nodefault`), `migrate` (`migration`), `disabled` (`disabled_if`
    /// true, as `TARGET=kvmtool` in `config.mak`), `refused` (QEMU refuses its option under TCG), `slow` (`timeout = 1`,
    /// sleeps 5 s), `machine` (`machine = q35`), `multi` (a `"""` block of parameters).
    ///
    /// - Parameter configured: Whether `config.mak` is there (false: the `build` setup runs `./configure`).
    /// - Returns: The files and the executables, for `TemporaryTree`; the `check` paths are under `ROOT`, to be replaced
    ///   with the tree's path (`kvmUnitTestsConfig(root:)`).
    public static func kvmUnitTests(configured: Bool = true) -> (files: [String: String], executables: Set<String>) {
        let configMak = "# written by configure\nARCH=x86_64\nTEST_DIR=x86\nTARGET=kvmtool\nCONFIG_EFI=\n"
        var files: [String: String] = [
            "run_tests.sh": "#!/bin/sh\necho 'not run by these tests'\nexit 1\n",
            "configure": "#!/bin/sh\nprintf '\(configMak.replacingOccurrences(of: "\n", with: "\\n"))' > config.mak\n",
            "Makefile": "all:\n\ttouch built\n",
            "check-param": "Y\n",
            "x86/run": """
                #!/usr/bin/env bash
                kernel=$1
                shift
                if [ "$kernel" = _NO_FILE_4Uhere_ ]; then
                    if [[ " $* " == *refuse-tcg* ]] && [ "$ACCEL" = tcg ]; then
                        echo "qemu-system-x86_64: -cpu refuse-tcg: this CPU model is not supported by TCG" >&2
                        exit 1
                    fi
                    echo "qemu-system-x86_64: could not load kernel '_NO_FILE_4Uhere_'" >&2
                    exit 1
                fi
                echo "run: TESTNAME=$TESTNAME ACCEL=$ACCEL MACHINE=$MACHINE TIMEOUT=$TIMEOUT MIGRATION=$MIGRATION PANIC=$PANIC"
                for argument in "$@"; do echo "arg: $argument"; done
                exec timeout "$TIMEOUT" bash "$kernel"

                """,
            "x86/pass.flat": "echo 'PASS: one'\necho 'SKIP: two (not here)'\necho 'SUMMARY: 2 tests, 1 skipped'\nexit 0\n",
            "x86/fail.flat": "echo 'PASS: one'\necho 'FAIL: two'\necho 'SUMMARY: 2 tests, 1 unexpected failures'\nexit 3\n",
            "x86/abort.flat": "echo 'abort() called'\nexit 127\n",
            "x86/skip.flat": "echo 'SKIP: no such feature'\nexit 77\n",
            "x86/sleep.flat": "sleep 5\n",
            "x86/unittests.cfg": kvmUnitTestsConfig(root: "ROOT"),
        ]
        if configured { files["config.mak"] = configMak }
        return (files, ["run_tests.sh", "configure", "x86/run"])
    }

    /// The `x86/unittests.cfg` of `kvmUnitTests()`, its `check` paths under `root`.
    /// - Parameter root: The tree's absolute path.
    /// - Returns: The file's text.
    public static func kvmUnitTestsConfig(root: String) -> String {
        """
        # A comment, and a line before any section: both ignored.
        file = ignored.flat

        [pass]
        file = pass.flat
        smp = 2
        test_args = "one two"
        qemu_params = -cpu max -m 256
        groups = quick smoke
        timeout = 30

        [fail]
        file = fail.flat

        [abort]
        file = abort.flat

        [skip]
        file = skip.flat

        [kvm-only]
        file = pass.flat
        accel = kvm

        [tcg-only]
        file = pass.flat
        accel = tcg

        [other-arch]
        file = pass.flat
        arch = i386
        check = /nonexistent/parameters/flag=Y

        [checked]
        file = pass.flat
        arch = x86_64
        check = \(root)/check-param=Y

        [manual]
        file = pass.flat
        groups = nodefault slow

        [migrate]
        file = pass.flat
        groups = migration

        [disabled]
        file = pass.flat
        disabled_if = [[ "$TARGET" != qemu ]]

        [refused]
        file = pass.flat
        qemu_params = -cpu refuse-tcg

        [slow]
        file = sleep.flat
        timeout = 1

        [machine]
        file = pass.flat
        machine = q35

        [multi]
        file = pass.flat
        extra_params = \"\"\"-device first \\
          -device second\"\"\"

        """
    }

    /// An installed kselftest tree: `kselftest-list.txt`, `run_kselftest.sh` (never run), collections `alpha` (a
    /// `settings` with `timeout=2`) and `beta/deep` (no `settings`: 45 s); tests that pass with KTAP output, fail, skip
    /// (exit 4) and outlive their timeout; `where` prints its directory and arguments; `plain.sh` (not executable) has a
    /// `#!` line, `data` (not executable) none.
    /// - Returns: The files and the executables, for `TemporaryTree`.
    public static func kselftest() -> (files: [String: String], executables: Set<String>) {
        let files: [String: String] = [
            "run_kselftest.sh": "#!/bin/sh\necho 'not run by these tests'\nexit 1\n",
            "kselftest-list.txt": "alpha:passes\nalpha:fails\nalpha:skips\nalpha:hangs\nbeta/deep:where\nbeta/deep:plain.sh\nbeta/deep:data\n",
            "alpha/settings": "timeout=2\n",
            "alpha/passes": "#!/bin/sh\necho 'TAP version 13'\necho '1..2'\necho 'ok 1 first'\necho 'ok 2 second'\n",
            "alpha/fails": "#!/bin/sh\necho 'TAP version 13'\necho '1..1'\necho 'not ok 1 broken'\nexit 1\n",
            "alpha/skips": "#!/bin/sh\necho 'TAP version 13'\necho '1..0 # SKIP no such device'\nexit 4\n",
            "alpha/hangs": "#!/bin/sh\nsleep 10\n",
            "beta/deep/where": "#!/bin/sh\npwd\necho \"args: $*\"\n",
            "beta/deep/plain.sh": "#!/bin/sh -e\necho 'run by its interpreter'\n",
            "beta/deep/data": "no interpreter\n",
        ]
        return (files, ["run_kselftest.sh", "alpha/passes", "alpha/fails", "alpha/skips", "alpha/hangs", "beta/deep/where"])
    }
}
