@testable import SwerveTorch
import Testing

/// libtorch's messages are cut to what a client can act on.
struct TorchErrorMessageTests {
    /// A TorchScript interpreter failure keeps the exception line, not the tracebacks before it.
    @Test func interpreterTracebacksAreDropped() {
        let message = """
            The following operation failed in the TorchScript interpreter.
            Traceback of TorchScript, serialized code (most recent call last):
              File "code/__torch__/torch/nn/modules/linear.py", line 12, in forward
                weight = self.weight
                return torch.linear(input, weight, bias)
                       ~~~~~~~~~~~~ <--- HERE
            RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x5 and 16x8)

            """
        #expect(TorchErrorMessage.summary(message) == "RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x5 and 16x8)")
    }

    /// Other messages keep their first lines.
    @Test func otherMessagesKeepTheirStart() {
        #expect(TorchErrorMessage.summary("PytorchStreamReader failed reading zip archive: failed finding central directory\n")
            == "PytorchStreamReader failed reading zip archive: failed finding central directory")
        let long = (1...10).map { "line \($0)" }.joined(separator: "\n")
        #expect(TorchErrorMessage.summary(long) == (1...TorchErrorMessage.maxLines).map { "line \($0)" }.joined(separator: "\n") + " …")
        #expect(TorchErrorMessage.summary("  \n") == "libtorch gave no message")
    }
}
