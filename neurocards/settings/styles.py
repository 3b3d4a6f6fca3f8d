"""The ``[styles]`` section (issue 21): the looks a seller picks after the photo."""

from __future__ import annotations

from pydantic import Field, field_validator

from .base import Section

__all__ = ["Style", "StylesSettings", "DEFAULT_STYLES"]


class Style(Section):
    """One look: its name (in button data), what sellers read, what the prompt writer is told."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,11}$")
    label_ru: str = Field(min_length=1, max_length=40)
    label_en: str = Field(min_length=1, max_length=40)
    guidance: str = Field(min_length=1, max_length=400)

    def label(self, language: str) -> str:
        return self.label_ru if language == "ru" else self.label_en


DEFAULT_STYLES = [
    Style(name="studio", label_ru="🎥 Студия, вращение", label_en="🎥 Studio turntable",
          guidance="a clean studio: the product turns slowly on a turntable against a seamless backdrop, "
                   "soft key light and a gentle rim light."),
    Style(name="lifestyle", label_ru="🏡 В жизни", label_en="🏡 In use",
          guidance="a lifestyle scene where the product is naturally in use in a tidy, warm home or outdoor "
                   "setting that suits it; calm, natural light."),
    Style(name="unboxing", label_ru="📦 Распаковка", label_en="📦 Unboxing",
          guidance="an unboxing moment: the product revealed from its packaging on a neat table, "
                   "the camera slowly pushing in as it comes into full view."),
    Style(name="details", label_ru="🔍 Детали крупно", label_en="🔍 Close-up details",
          guidance="macro close-ups gliding across the product's materials, seams, textures and finish, "
                   "ending on the whole product."),
    Style(name="seasonal", label_ru="🎄 Праздничный", label_en="🎄 Seasonal",
          guidance="a festive seasonal setting (soft bokeh lights, a few tasteful decorations) that frames "
                   "the product without hiding any of it."),
]


class StylesSettings(Section):
    """``catalogue``: the styles on offer, in button order ("no style" is always
    there too), picked with one tap after the photo (``ask_before_start``)."""

    catalogue: list[Style] = DEFAULT_STYLES
    ask_before_start: bool = True  # False: a photo with a caption starts at once, in the seller's last style
    ideas: bool = True  # "Suggest ideas" on the picker: three concepts from the prompt model, free
    ideas_timeout_s: float = Field(12.0, gt=0, le=60)  # past it, the picker goes on without ideas

    def find(self, name: str) -> Style | None:
        return next((style for style in self.catalogue if style.name == name), None) if name else None

    @field_validator("catalogue")
    @classmethod
    def _named_once(cls, catalogue: list[Style]) -> list[Style]:
        names = [style.name for style in catalogue]
        if len(set(names)) != len(names):
            raise ValueError("style names must differ")
        if "none" in names:
            raise ValueError('"none" is the name of no style')
        return catalogue
