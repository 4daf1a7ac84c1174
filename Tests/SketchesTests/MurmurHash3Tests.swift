import Sketches
import Testing

/// Expected values are `hll_hash_text(v)` from postgresql-hll 2.17 (PostgreSQL 15, x86-64), as the
/// signed `bigint` SQL shows them.
@Suite("MurmurHash3 x64_128 equals hll_hash_text")
struct MurmurHash3Tests {
    static let alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"

    /// `left(alphabet, n)` for n = 0…40: every tail length (0–15) with zero, one and two 16-byte blocks.
    static let prefixHashes: [Int64] = [
        0, 3_083_240_331_115_144_064, 7_250_318_944_307_867_790, -3_573_335_766_539_617_317,
        1_122_932_861_426_696_788, 1_082_240_882_612_060_097, -8_592_682_110_383_420_889,
        1_435_416_519_508_424_614, -9_064_053_233_843_489_459, 5_484_970_180_828_674_234,
        4_581_940_570_640_870_180, 5_459_465_340_194_096_681, 7_364_840_649_933_077_671,
        6_823_790_006_015_202_078, 550_741_065_919_493_914, -6_472_281_833_689_111_727,
        5_467_490_433_528_156_583, -8_200_385_122_730_116_642, -4_246_381_367_331_849_496,
        -5_963_469_865_952_720_057, -1_961_249_309_345_799_171, 48_783_950_100_570_842,
        5_144_422_125_101_471_925, 2_676_151_329_905_207_234, 3_840_371_032_910_966_138,
        344_535_466_764_418_310, -6_153_249_011_313_433_231, 4_541_646_684_555_425_035,
        9_133_352_268_884_628_372, 3_338_015_846_553_035_337, 4_642_915_498_977_426_120,
        -5_176_755_778_284_026_558, 3_398_067_961_920_877_047, -1_720_348_946_041_925_336,
        340_675_646_176_435_136, 7_535_999_045_137_986_441, -1_176_888_209_443_754_603,
        3_461_446_988_449_902_127, 377_290_718_622_771_480, -5_914_402_042_005_712_122,
        1_784_887_533_826_638_729,
    ]

    @Test("the value the issue quotes: hll_hash_text('u1')")
    func u1() {
        #expect(MurmurHash3.hash64("u1") == 8_330_233_586_929_153_525)
    }

    @Test("the empty string hashes to 0 (seed 0, no blocks, no tail)")
    func empty() {
        #expect(MurmurHash3.hash64("") == 0)
    }

    @Test("lengths 0 to 40 cover every tail length and block count", arguments: 0...40)
    func prefix(length: Int) {
        let text = String(Self.alphabet.prefix(length))
        #expect(Int64(bitPattern: MurmurHash3.hash64(text)) == Self.prefixHashes[length])
    }

    @Test(
        "multi-byte UTF-8 and long strings hash their UTF-8 bytes",
        arguments: [
            ("u000001", 5_325_438_392_835_546_851),
            ("ü", 4_669_766_304_960_176_369),
            ("日本語のユーザー", 5_256_742_202_747_678_819),
            ("😀👍🏽 émoji", -4_953_692_458_578_082_524),
            ("Ωmega-ß-ça-ñ-ø-ю-中-🙂-x", -5_554_378_135_786_172_756),
            (String(repeating: "long-user-id-", count: 100), 4_132_949_585_524_128_596),
        ] as [(String, Int64)])
    func utf8(text: String, expected: Int64) {
        #expect(Int64(bitPattern: MurmurHash3.hash64(text)) == expected)
    }

    @Test("a byte range inside a larger buffer, at any alignment, hashes like the bytes alone")
    func unalignedSlice() {
        // The worker hashes a user id where it lies in the payload: any offset, no copy.
        let payload = Array(("{\"user_id\":\"" + Self.alphabet.prefix(40) + "\"}").utf8)
        for shift in 0..<8 {
            let padded = [UInt8](repeating: 0x20, count: shift) + payload
            let start = shift + 12
            let hash = padded.withUnsafeBytes {
                MurmurHash3.hash64(UnsafeRawBufferPointer(rebasing: $0[start..<start + 40]))
            }
            #expect(Int64(bitPattern: hash) == Self.prefixHashes[40])
        }
    }
}
