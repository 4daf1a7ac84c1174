import Testing

@testable import PipelineCore

/// The flat interning behind `AggregateInputs`: numbers in order of first appearance, the same
/// bytes back, across the table's growth and a reset between batches.
@Suite("interned bytes")
struct InternedBytesTests {
    @Test("strings numbered in order of first appearance; a repeat is not new")
    func numbering() {
        var interned = InternedBytes()
        #expect(interned.id(of: Array("b".utf8)) == (0, true))
        #expect(interned.id(of: Array("a".utf8)) == (1, true))
        #expect(interned.id(of: Array("b".utf8)) == (0, false))
        #expect(interned.id(of: []) == (2, true), "the empty string is a value like any other")
        #expect(interned.id(of: []) == (2, false))
        #expect(interned.id(of: Array("ab".utf8)) == (3, true), "not the concatenation of 1 and 0")
        #expect(interned.count == 4)
        #expect(interned[0] == Array("b".utf8))
        #expect(interned[2] == [])
        #expect(interned[3] == Array("ab".utf8))
    }

    @Test("100 000 strings through the table's growth: every one found again, its bytes intact")
    func growth() {
        var interned = InternedBytes()
        let strings = (0..<100_000).map { Array("user-\($0 * 7919 % 100_003)".utf8) }
        for (index, string) in strings.enumerated() {
            #expect(interned.id(of: string) == (Int32(index), true))
        }
        for (index, string) in strings.enumerated().reversed() {
            let (id, isNew) = interned.id(of: string)
            #expect(id == Int32(index) && !isNew)
            #expect(interned.withBytes(of: id) { $0.elementsEqual(string) })
        }
        #expect(interned.count == strings.count)
    }

    @Test("bytes outside ASCII and NUL kept as they are")
    func bytes() {
        var interned = InternedBytes()
        let strings: [[UInt8]] = [[0], [0, 0], [0xFF, 0xFE], Array("Zürich".utf8), [0xFF]]
        for (index, string) in strings.enumerated() {
            #expect(interned.id(of: string) == (Int32(index), true))
        }
        for (index, string) in strings.enumerated() {
            #expect(interned[Int32(index)] == string)
        }
    }

    @Test("a reset forgets every string; the next batch numbers from 0 again")
    func reset() {
        var interned = InternedBytes()
        for index in 0..<1000 { _ = interned.id(of: Array("v\(index)".utf8)) }
        interned.removeAll()
        #expect(interned.count == 0)
        #expect(interned.id(of: Array("v999".utf8)) == (0, true))
        #expect(interned.id(of: Array("v0".utf8)) == (1, true))
        #expect(interned.id(of: Array("v999".utf8)) == (0, false))
        #expect(interned[1] == Array("v0".utf8))
    }
}
