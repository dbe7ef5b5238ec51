@testable import Declarations
@testable import HostFacts
@testable import Requirements
import TestSupport
import Testing

/// `/proc/cpuinfo` as each architecture's kernel writes it (one or two CPUs
/// of real machines; the layouts, keys and separators are the kernel's).
enum CPUInfo {
    /// x86_64, a bare-metal Intel Xeon (Dell R420): `flags`, and since Linux 5.8
    /// a `vmx flags` line as well.
    static let intelX86 = """
        processor\t: 0
        vendor_id\t: GenuineIntel
        cpu family\t: 6
        model\t\t: 62
        model name\t: Intel(R) Xeon(R) CPU E5-2420 v2 @ 2.20GHz
        stepping\t: 4
        microcode\t: 0x42e
        cpu MHz\t\t: 1200.000
        cache size\t: 15360 KB
        physical id\t: 0
        siblings\t: 12
        core id\t\t: 0
        cpu cores\t: 6
        apicid\t\t: 0
        initial apicid\t: 0
        fpu\t\t: yes
        fpu_exception\t: yes
        cpuid level\t: 13
        wp\t\t: yes
        flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb \
        rdtscp lm constant_tsc arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 \
        ssse3 cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm cpuid_fault epb pti ssbd ibrs ibpb \
        stibp tpr_shadow vnmi flexpriority ept vpid fsgsbase smep erms xsaveopt dtherm ida arat pln pts md_clear flush_l1d
        vmx flags\t: vnmi preemption_timer posted_intr invvpid ept_x_only flexpriority tsc_offset vtpr mtf vapic ept vpid unrestricted_guest ple
        bugs\t\t: cpu_meltdown spectre_v1 spectre_v2 spec_store_bypass l1tf mds swapgs itlb_multihit mmio_unknown
        bogomips\t: 4389.82
        clflush size\t: 64
        cache_alignment\t: 64
        address sizes\t: 46 bits physical, 48 bits virtual
        power management:

        processor\t: 1
        vendor_id\t: GenuineIntel
        cpu family\t: 6
        model\t\t: 62
        flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb \
        rdtscp lm constant_tsc vmx smx est tm2 ssse3 cx16 sse4_1 sse4_2 x2apic popcnt aes xsave avx f16c rdrand lahf_lm ept vpid
        power management:


        """

    /// x86_64, an AMD EPYC guest of a cloud VM (the machine these tests were written on).
    static let amdGuestX86 = """
        processor\t: 0
        vendor_id\t: AuthenticAMD
        cpu family\t: 26
        model\t\t: 2
        model name\t: AMD EPYC
        stepping\t: 1
        microcode\t: 0x1000065
        cpu MHz\t\t: 2596.126
        cache size\t: 1024 KB
        physical id\t: 0
        siblings\t: 2
        core id\t\t: 0
        cpu cores\t: 2
        apicid\t\t: 0
        initial apicid\t: 0
        fpu\t\t: yes
        fpu_exception\t: yes
        cpuid level\t: 28
        wp\t\t: yes
        flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb \
        rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic \
        movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw topoext \
        vmmcall fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl \
        xsaveopt xsavec xgetbv1 xsaves avx_vnni avx512_bf16 clzero xsaveerptr arat avx512vbmi umip avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni \
        avx512_bitalg avx512_vpopcntdq rdpid fsrm avx512_vp2intersect
        bugs\t\t: sysret_ss_attrs null_seg spectre_v1 spectre_v2 spec_store_bypass srso spectre_v2_user
        bogomips\t: 5192.25
        TLB size\t: 192 4K pages
        clflush size\t: 64
        cache_alignment\t: 64
        address sizes\t: 48 bits physical, 48 bits virtual
        power management:


        """

    /// arm64 (aarch64), an Ampere Altra (Neoverse-N1): `Features`.
    static let arm64 = """
        processor\t: 0
        BogoMIPS\t: 50.00
        Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs
        CPU implementer\t: 0x41
        CPU architecture: 8
        CPU variant\t: 0x3
        CPU part\t: 0xd0c
        CPU revision\t: 1

        processor\t: 1
        BogoMIPS\t: 50.00
        Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs
        CPU implementer\t: 0x41
        CPU architecture: 8
        CPU variant\t: 0x3
        CPU part\t: 0xd0c
        CPU revision\t: 1


        """

    /// s390x, an IBM z15 LPAR: lower-case `features`, once for the machine.
    static let s390x = """
        vendor_id       : IBM/S390
        # processors    : 2
        bogomips per cpu: 3241.00
        max thread id   : 0
        features\t: esan3 zarch stfle msa ldisp eimm dfp edat etf3eh highgprs te vx vxd vxe gs vxe2 vxp sort dflt sie
        facilities      : 0 1 2 3 4 6 7 8 9 10 12 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 30 31 32 33 34 35 36 37 38 40 41 42 43 44 45 47 48 49 50 51 52 \
        53 54 57 58 59 60 61 64 65 69 71 72 73 74 75 76 77 78 80 81 82 129 130 131 132 133 134 135 138 139 141 142 144 145 146 148 149 150 151 152 155 156
        cache0          : level=1 type=Data scope=Private size=128K line_size=256 associativity=8
        cache1          : level=1 type=Instruction scope=Private size=128K line_size=256 associativity=8
        cache2          : level=2 type=Data scope=Private size=4096K line_size=256 associativity=8
        cache3          : level=2 type=Instruction scope=Private size=4096K line_size=256 associativity=8
        cache4          : level=3 type=Unified scope=Shared size=262144K line_size=256 associativity=32
        cache5          : level=4 type=Unified scope=Shared size=983040K line_size=256 associativity=60
        processor 0: version = 00,  identification = 0B5A48,  machine = 8561
        processor 1: version = 00,  identification = 0B5A48,  machine = 8561

        cpu number      : 0
        physical id     : 1
        core id         : 0
        book id         : 0
        drawer id       : 0
        dedicated       : 0
        address         : 0
        siblings        : 2
        cpu cores       : 2
        version         : 00
        identification  : 0B5A48
        machine         : 8561
        cpu MHz dynamic : 5200
        cpu MHz static  : 5200


        """

    /// ppc64le, an IBM POWER9 (PowerNV): no flags line at all.
    static let ppc64le = """
        processor\t: 0
        cpu\t\t: POWER9 (raw), altivec supported
        clock\t\t: 2166.000000MHz
        revision\t: 2.2 (pvr 004e 1202)

        processor\t: 1
        cpu\t\t: POWER9 (raw), altivec supported
        clock\t\t: 2166.000000MHz
        revision\t: 2.2 (pvr 004e 1202)

        timebase\t: 512000000
        platform\t: PowerNV
        model\t\t: 9006-22P
        machine\t\t: PowerNV 9006-22P
        firmware\t: OPAL
        MMU\t\t: Radix

        """

    /// riscv64, a StarFive VisionFive 2 (SiFive U74): an ISA string, no flags line.
    static let riscv64 = """
        processor\t: 0
        hart\t\t: 1
        isa\t\t: rv64imafdc_zicntr_zicsr_zifencei_zihpm_zba_zbb
        mmu\t\t: sv39
        uarch\t\t: sifive,u74-mc
        mvendorid\t: 0x489
        marchid\t\t: 0x8000000000000007
        mimpid\t\t: 0x4210427
        hart isa\t: rv64imafdc_zicntr_zicsr_zifencei_zihpm_zba_zbb


        """
}

/// A fixture host of that architecture.
func cpuHost(arch: String, cpuinfo: String) throws -> TemporaryTree {
    try TemporaryTree(["proc/sys/kernel/arch": "\(arch)\n", "proc/cpuinfo": cpuinfo])
}

let noFlagsLine = "/proc/cpuinfo on this host lists no CPU flags (no flags/Features line)"

@Suite("CPU flags on every architecture's /proc/cpuinfo")
struct CPUFlagTests {
    @Test("the flags each architecture lists are present, others absent with the flag named", arguments: [
        ("x86_64", CPUInfo.intelX86, ["vmx", "ept", "avx", "sse4_2", "aes", "fpu", "flush_l1d"], "svm"),
        ("x86_64", CPUInfo.amdGuestX86, ["hypervisor", "avx2", "avx512f", "sse4a", "avx512_vp2intersect"], "vmx"),
        ("aarch64", CPUInfo.arm64, ["fp", "asimd", "aes", "crc32", "atomics", "ssbs"], "sve"),
        ("s390x", CPUInfo.s390x, ["esan3", "zarch", "vx", "vxe2", "sie", "dflt"], "vmx"),
    ])
    func flags(arch: String, cpuinfo: String, present: [String], missing: String) throws {
        let tree = try cpuHost(arch: arch, cpuinfo: cpuinfo)
        defer { withExtendedLifetime(tree) {} }
        let host = probe(tree)
        for flag in present {
            #expect(host.lookup("cpu-flag:\(flag)").fact?.source == "/proc/cpuinfo", "\(arch): \(flag)")
        }
        #expect(host.lookup("cpu-flag:\(missing)") == .absent(reason: "this host's CPU has no \(missing) flag"))
        // Keys are whole: neither `bugs`, `vmx flags` nor `facilities` count as flags.
        #expect(host.lookup("cpu-flag:spectre_v1").fact == nil)
        #expect(host.lookup("cpu-flag:preemption_timer").fact == nil || arch != "x86_64")
        #expect(host.lookup("cpu-flag:129").fact == nil)
        #expect(host.allFacts().contains { $0.name == "cpu-flag:\(present[0])" })
    }

    @Test("without a flags line (ppc64le, riscv64), a CPU flag's absence says the host lists none", arguments: [
        ("ppc64le", CPUInfo.ppc64le), ("riscv64", CPUInfo.riscv64),
    ])
    func noFlags(arch: String, cpuinfo: String) throws {
        let tree = try cpuHost(arch: arch, cpuinfo: cpuinfo)
        defer { withExtendedLifetime(tree) {} }
        let host = probe(tree)
        for flag in ["vmx", "altivec", "rv64imafdc", "sv39", "POWER9"] {
            #expect(host.lookup("cpu-flag:\(flag)") == .absent(reason: noFlagsLine), "\(arch): \(flag)")
        }
        #expect(!host.allFacts().contains { $0.name.hasPrefix("cpu-flag:") })
        let either = try Requirement(parsing: "cpu-flag:vmx | cpu-flag:svm").check(host.lookup)
        #expect(either == .unmet([.absent(noFlagsLine), .absent(noFlagsLine)]))
    }

    @Test("a flag written in upper case is absent, with the spelling the host lists")
    func upperCase() throws {
        let tree = try cpuHost(arch: "x86_64", cpuinfo: CPUInfo.intelX86)
        defer { withExtendedLifetime(tree) {} }
        #expect(probe(tree).lookup("cpu-flag:VMX") == .absent(
            reason: "this host's CPU has no VMX flag; it has vmx: write cpu-flag:vmx (flags are lower case)"))
    }

    @Test("no /proc/cpuinfo at all")
    func unreadable() throws {
        let tree = try TemporaryTree(["proc/sys/kernel/arch": "x86_64\n"])
        #expect(probe(tree).lookup("cpu-flag:vmx") == .absent(reason: "the CPU flags are unknown (no /proc/cpuinfo)"))
    }

    @Test("a guest is found by its hypervisor flag; a bare-metal Intel is not")
    func hypervisorFlag() throws {
        let guest = try cpuHost(arch: "x86_64", cpuinfo: CPUInfo.amdGuestX86)
        let metal = try cpuHost(arch: "x86_64", cpuinfo: CPUInfo.intelX86)
        defer { withExtendedLifetime((guest, metal)) {} }
        #expect(probe(guest).lookup("virtualized").fact?.value == "vm")
        #expect(probe(metal).lookup("virtualized").fact == nil)
    }
}
