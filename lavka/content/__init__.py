"""Pages of video, audio and text blocks, with content-addressed uploads and view counters."""
