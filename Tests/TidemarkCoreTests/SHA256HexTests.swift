import Foundation
import Testing
import TidemarkCore

@Suite struct SHA256HexTests {
    @Test func digestsMatchTheFIPSTestVectors() {
        #expect(SHA256Hex.digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Hex.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256Hex.digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func bytesAndTextOfTheSameContentHashAlike() {
        #expect(SHA256Hex.digest(Array("schema".utf8)) == SHA256Hex.digest("schema"))
        #expect(SHA256Hex.digest(Data("schema".utf8)) == SHA256Hex.digest("schema"))
    }

    @Test func digestFedInPartsEqualsDigestOfTheWhole() {
        var hasher = SHA256Hex.Hasher()
        hasher.update(Array("abcdbcdecdefdefg".utf8))
        hasher.update(Data("efghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        #expect(hasher.finalize() == SHA256Hex.digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
        #expect(SHA256Hex.Hasher().finalize() == SHA256Hex.digest(""))
    }

    @Test func authenticationCodeMatchesRFC4231() {
        // RFC 4231 test case 2.
        #expect(
            SHA256Hex.authenticationCode(for: Data("what do ya want for nothing?".utf8), key: Data("Jefe".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
