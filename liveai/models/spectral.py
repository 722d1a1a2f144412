"""Distances between sounds, for the synth's training and its card.

The synth's oscillators do not share FluidSynth's phases, so no loss compares
waveforms: both distances compare magnitude spectra.

- `mrstft`: the multi-resolution STFT loss (Yamamoto et al., Parallel WaveGAN, 2020):
  over FFT sizes from 2048 to 64, spectral convergence plus the L1 distance of log
  magnitudes, averaged.
- `lsd`: the log-spectral distance in dB: per frame, the RMS over bins of the
  difference of the power spectra in dB, averaged over frames (2048-point FFT).
"""

from __future__ import annotations

import torch

FFT_SIZES = (2048, 1024, 512, 256, 128, 64)
EPS = 1e-5  # magnitude floor: about -100 dB below full scale


def magnitude(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    """|STFT| (B, bins, frames) of audio (B, T), hop n_fft / 4, Hann window."""
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, n_fft, hop_length=n_fft // 4, window=window, center=True, return_complex=True)
    return spec.abs()


def mrstft(x: torch.Tensor, y: torch.Tensor, fft_sizes: tuple[int, ...] = FFT_SIZES) -> torch.Tensor:
    """The multi-resolution STFT distance of x from the reference y (both (B, T))."""
    total = x.new_zeros(())
    for n_fft in fft_sizes:
        mx, my = magnitude(x, n_fft), magnitude(y, n_fft)
        convergence = torch.linalg.norm(my - mx) / torch.clamp(torch.linalg.norm(my), min=EPS)
        log_l1 = (torch.log(mx + EPS) - torch.log(my + EPS)).abs().mean()
        total = total + convergence + log_l1
    return total / len(fft_sizes)


def lsd(x: torch.Tensor, y: torch.Tensor, n_fft: int = 2048) -> torch.Tensor:
    """Log-spectral distance (dB) of x from y (both (B, T))."""
    px = 20 * torch.log10(magnitude(x, n_fft) + EPS)
    py = 20 * torch.log10(magnitude(y, n_fft) + EPS)
    return torch.sqrt(((px - py) ** 2).mean(dim=1)).mean()
