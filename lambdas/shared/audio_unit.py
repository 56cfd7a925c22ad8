"""The audio that travels between functions: mono 16-bit little-endian PCM at one rate.

The worker decodes every chunk to it and streams it to the recognizer; the processor's
payload model (audio_processor/model.py) accepts nothing else."""

PCM_SAMPLE_RATE = 16_000
BYTES_PER_SAMPLE = 2
