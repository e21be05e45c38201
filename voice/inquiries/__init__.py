"""Questions and concerns from victims and the public: intake from every channel, a queue with
service levels, answers that pass the outbound scan, and figures for the quarterly report."""
