/// The trace and log settings Swerve reports, Triton's defaults: no tracing, and logging of
/// info, warnings and errors without verbose output.
enum ServerSettings {
    /// The trace settings, as Triton reports them when tracing is off.
    static var trace: [String: Inference_TraceSettingResponse.SettingValue] {
        let values: [String: [String]] = [
            "trace_file": [""], "trace_level": ["OFF"], "trace_rate": ["1000"], "trace_count": ["-1"], "log_frequency": ["0"],
        ]
        return values.mapValues { list in .with { $0.value = list } }
    }

    /// The log settings, as Triton reports its defaults.
    static var log: [String: Inference_LogSettingsResponse.SettingValue] {
        [
            "log_file": .with { $0.stringParam = "" },
            "log_info": .with { $0.boolParam = true },
            "log_warning": .with { $0.boolParam = true },
            "log_error": .with { $0.boolParam = true },
            "log_verbose_level": .with { $0.uint32Param = 0 },
            "log_format": .with { $0.stringParam = "default" },
        ]
    }
}
