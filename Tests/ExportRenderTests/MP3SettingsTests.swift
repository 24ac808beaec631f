import CFFmpeg
import ExportCore
@testable import ExportRender
import XCTest

final class MP3SettingsTests: XCTestCase {
    func testDefaultsFollowTheInput() {
        let o = MP3Options()
        XCTAssertEqual(MP3Settings(options: o, inputSampleRate: 44100, inputChannels: 2).sampleRate, 44100)
        XCTAssertEqual(MP3Settings(options: o, inputSampleRate: 22050, inputChannels: 1).sampleRate, 22050)
        XCTAssertEqual(MP3Settings(options: o, inputSampleRate: 96000, inputChannels: 2).sampleRate, 48000)
        XCTAssertEqual(MP3Settings(options: o, inputSampleRate: 37800, inputChannels: 2).sampleRate, 44100)
        XCTAssertEqual(MP3Settings(options: o, inputSampleRate: 6000, inputChannels: 2).sampleRate, 44100)
        XCTAssertEqual(MP3Settings(options: o, inputSampleRate: 44100, inputChannels: 6).channels, 2)
        XCTAssertEqual(MP3Settings(options: o, inputSampleRate: 44100, inputChannels: 1).channels, 1)
        let s = MP3Settings(options: o, inputSampleRate: 44100, inputChannels: 2)
        XCTAssertEqual(s.bitrate, 128)
        XCTAssertNil(s.quality)
    }

    func testJobOptionsWin() {
        let s = MP3Settings(options: MP3Options(quality: 3, sampleRate: 16000, channels: 1), inputSampleRate: 48000, inputChannels: 2)
        XCTAssertEqual(s.sampleRate, 16000)
        XCTAssertEqual(s.channels, 1)
        XCTAssertEqual(s.quality, 3)
        XCTAssertNil(s.bitrate)
        XCTAssertEqual(s.encoderRate, .variable(quality: 3))
        XCTAssertEqual(MP3Settings(options: MP3Options(bitrate: 320), inputSampleRate: 48000, inputChannels: 2).encoderRate,
                       .constant(kbps: 320))
    }

    func testEncoderSampleFormatIsTheLosslessOne() {
        XCTAssertEqual(MP3Pipeline.encoderSampleFormat(for: AV_SAMPLE_FMT_S16), AV_SAMPLE_FMT_S16P)
        XCTAssertEqual(MP3Pipeline.encoderSampleFormat(for: AV_SAMPLE_FMT_U8), AV_SAMPLE_FMT_S16P)
        XCTAssertEqual(MP3Pipeline.encoderSampleFormat(for: AV_SAMPLE_FMT_S32P), AV_SAMPLE_FMT_S32P)
        XCTAssertEqual(MP3Pipeline.encoderSampleFormat(for: AV_SAMPLE_FMT_FLTP), AV_SAMPLE_FMT_FLTP)
        XCTAssertEqual(MP3Pipeline.encoderSampleFormat(for: AV_SAMPLE_FMT_DBL), AV_SAMPLE_FMT_FLTP)
    }
}
