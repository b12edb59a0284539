import SwerveCore

/// The image pipeline is the core's input preprocessor for models that declare an image input:
/// clients send encoded images as BYTES on any protocol and the model gets its FP32 tensor.
extension ImagePipeline: InputPreprocessor {}
