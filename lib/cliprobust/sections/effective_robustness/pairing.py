"""Claim C12's pairing of each timm CLIP fine-tune with the zero-shot weights it was fine-tuned from.

:func:`zeroshot_counterpart` names the zero-shot weights of a fine-tune (:data:`FT_PAIRING_RULES`);
:func:`finetune_pairs` joins their ER rows over the four shifts timm publishes.
"""

from __future__ import annotations

import re

import pandas as pd

from .options import FT_SHIFTS, MEAN_SHIFT_4, PAIRING_224, PAIRING_336
from .tables import er_frame

#: Ordered (regex on a timm CLIP-FT name, open_clip id of the zero-shot weights it was fine-tuned
#: from); first match wins. ViT: the CLIP source in the tag (``openai``/``laion2b``) with the
#: architecture's 224-px tower, whatever the fine-tune resolution; timm's pre-1.0 pretrained cfgs
#: pointed its ``*.laion2b`` towers at laion/CLIP-ViT-B-32-laion2B-s34B-b79K, -B-16-...-s34B-b88K,
#: -L-14-...-s32B-b82K, -H-14-...-s32B-b79K. ConvNeXt: timm's ``convnext_base`` /
#: ``convnext_large_mlp`` towers are open_clip's ``convnext_base_w`` / ``convnext_large_d``; the
#: tag's qualifiers pick the run (``augreg``; ``laiona_augreg`` exists only as the 320-px tower;
#: ``soup`` = ``convnext_large_d_320`` ft-soup; xxlarge ``soup`` = ``augreg_soup``).
FT_PAIRING_RULES: tuple[tuple[str, str], ...] = (
    (r"vit_base_patch32_clip_\d+\.openai_ft_", "ViT-B-32/openai"),
    (r"vit_base_patch16_clip_\d+\.openai_ft_", "ViT-B-16/openai"),
    (r"vit_large_patch14_clip_\d+\.openai_ft_", "ViT-L-14/openai"),
    (r"vit_base_patch32_clip_\d+\.laion2b_ft_", "ViT-B-32/laion2b_s34b_b79k"),
    (r"vit_base_patch16_clip_\d+\.laion2b_ft_", "ViT-B-16/laion2b_s34b_b88k"),
    (r"vit_large_patch14_clip_\d+\.laion2b_ft_", "ViT-L-14/laion2b_s32b_b82k"),
    (r"vit_huge_patch14_clip_\d+\.laion2b_ft_", "ViT-H-14/laion2b_s32b_b79k"),
    (r"convnext_base\.clip_laion2b_augreg_ft_", "convnext_base_w/laion2b_s13b_b82k_augreg"),
    (r"convnext_base\.clip_laiona_augreg_ft_", "convnext_base_w_320/laion_aesthetic_s13b_b82k_augreg"),
    (r"convnext_large_mlp\.clip_laion2b_augreg_ft_", "convnext_large_d/laion2b_s26b_b102k_augreg"),
    (r"convnext_large_mlp\.clip_laion2b_soup_ft_", "convnext_large_d_320/laion2b_s29b_b131k_ft_soup"),
    (r"convnext_xxlarge\.clip_laion2b_soup_ft_", "convnext_xxlarge/laion2b_s34b_b82k_augreg_soup"),
)
#: Pairing variant: the one OpenAI fine-tune at 336 px whose zero-shot weights also exist as a
#: 336-px tower (``ViT-L-14-336/openai``); timm's cfg for it names the 336-px OpenAI checkpoint.
FT_PAIRING_336: tuple[tuple[str, str], ...] = (
    (r"vit_large_patch14_clip_336\.openai_ft_", "ViT-L-14-336/openai"),
)


def zeroshot_counterpart(timm_name: str, pairing: str = PAIRING_224) -> str | None:
    """open_clip id of the zero-shot CLIP weights a timm CLIP-FT model was fine-tuned from.

    ``vit_base_patch16_clip_224.openai_ft_in1k`` -> ``open_clip:ViT-B-16/openai``; rules in
    :data:`FT_PAIRING_RULES` (``timm:`` prefix accepted), preceded by :data:`FT_PAIRING_336` when
    ``pairing='336-tower'``; None for names no rule covers (EVA ``clip_ft_in1k``, SigLIP).
    """
    name = timm_name.removeprefix("timm:")
    rules = (FT_PAIRING_336 if pairing == PAIRING_336 else ()) + FT_PAIRING_RULES
    for pattern, target in rules:
        if re.match(pattern, name):
            return f"open_clip:{target}"
    return None


def finetune_pairs(frame: pd.DataFrame | None = None, pairing: str = PAIRING_224) -> pd.DataFrame:
    """CLIP-FT models joined to their zero-shot weights (:func:`zeroshot_counterpart`), long over
    :data:`FT_SHIFTS` + :data:`MEAN_SHIFT_4`: ``ft_model, zs_model, pretrain_data, finetune_data,
    shift, id_zs, id_ft, er_zs, er_ft, delta`` (= er_ft − er_zs). Unpaired fine-tunes are left out."""
    frame = er_frame() if frame is None else frame
    shifts = FT_SHIFTS + (MEAN_SHIFT_4,)
    sub = frame[frame["shift"].isin(shifts)].set_index(["model", "shift"])
    ft = frame.loc[(frame["group"] == "clip-ft") & frame["shift"].isin(shifts)].copy()
    ft["zs_model"] = ft["model"].map(lambda m: zeroshot_counterpart(m, pairing))
    ft = ft[pd.Index(list(zip(ft["zs_model"], ft["shift"]))).isin(sub.index)]
    zs = sub.loc[list(zip(ft["zs_model"], ft["shift"])), ["id_acc", "er"]].to_numpy()
    out = pd.DataFrame({"ft_model": ft["model"].to_numpy(), "zs_model": ft["zs_model"].to_numpy(),
                        "pretrain_data": ft["pretrain_data"].to_numpy(),
                        "finetune_data": ft["finetune_data"].to_numpy(), "shift": ft["shift"].to_numpy(),
                        "id_zs": zs[:, 0].astype(float), "id_ft": ft["id_acc"].to_numpy(),
                        "er_zs": zs[:, 1].astype(float), "er_ft": ft["er"].to_numpy()})
    out["delta"] = out["er_ft"] - out["er_zs"]
    return out.sort_values(["shift", "ft_model"]).reset_index(drop=True)
