"""Language identification of short texts (drugwatch.text.language)."""

from __future__ import annotations

import time

import pytest

from drugwatch.text.language import LANGUAGES, MAX_CHARS, detect_language, detect_languages

# Short texts written for this test, one register each (captions, adverts, news, chat).
CASES = [
    ("en", "Just got back from the beach, the sunset tonight was unreal"),
    ("es", "Mañana vamos a la playa con mis amigos, ¿quién se apunta?"),
    ("pt", "Hoje o jantar foi incrível, obrigado a todos que vieram"),
    ("fr", "Je suis tellement fatigué aujourd'hui, vivement le week-end"),
    ("de", "Wir haben heute den ganzen Tag im Garten gearbeitet"),
    ("ru", "Сегодня была отличная погода, гуляли весь день в парке"),
    ("vi", "Hôm nay trời đẹp quá, cả nhà mình đi chơi công viên"),
    # Indonesian and Malay share most words; "kantor", "bisa" and "gimana" are Indonesian
    ("id", "Gimana kabarnya? Aku lagi di kantor nih, nanti sore ketemuan ya"),
    ("ar", "ذهبنا اليوم إلى البحر وكان الجو جميلا جدا"),
    ("zh", "今天天气很好，我们一家人去公园散步"),
    ("ja", "今日は天気が良かったので、家族で公園に行きました"),
    ("ko", "오늘 날씨가 너무 좋아서 가족이랑 공원에 갔어요"),
    ("th", "วันนี้อากาศดีมาก เราไปเดินเล่นที่สวนสาธารณะกัน"),
]


@pytest.mark.parametrize(("expected", "text"), CASES)
def test_short_texts_in_many_languages(expected, text):
    assert detect_language(text) == expected


def test_handles_links_and_numbers_do_not_decide_the_language():
    # a Korean advert that ends in Latin contact details is still Korean
    assert detect_language("오늘 새로 들어왔어요 연락 주세요 telegram @demo_handle_123 https://t.example/abc") == "ko"
    assert detect_language("Envío a todo el país, pedidos por mensaje 555-0142 @tienda_demo") == "es"


def test_japanese_kanji_with_kana_is_not_chinese():
    assert detect_language("東京で新しい店を開きました。ぜひ来てください") == "ja"
    assert detect_language("东京开了一家新店，欢迎光临") == "zh"


@pytest.mark.parametrize("text", ["", "   ", "🔥🔥💯", "12345 678", "@someone_demo", "https://example.com/x", "ok"])
def test_too_few_letters_gives_none(text):
    assert detect_language(text) is None


def test_answers_are_codes_from_the_documented_set():
    for _, text in CASES:
        assert detect_language(text) in LANGUAGES


def test_batch_keeps_order_and_repeats():
    texts = [CASES[0][1], CASES[11][1], "🔥", CASES[0][1]]
    assert detect_languages(texts) == ["en", "ko", None, "en"]
    assert detect_languages([]) == []


def test_rejects_non_strings():
    with pytest.raises(TypeError, match="expects str"):
        detect_language(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expects str items"):
        detect_languages(["fine", 3])  # type: ignore[list-item]


def test_reads_only_the_first_max_chars():
    head = "Wir haben heute den ganzen Tag im Garten gearbeitet. " * (MAX_CHARS // 40)
    huge = head + "and then the rest of this very long text is written in English only. " * 20_000
    started = time.process_time()
    assert detect_language(huge) == "de"
    assert time.process_time() - started < 2.0  # 1.4 M characters, but only MAX_CHARS are read


def test_model_read_back_from_the_table_cache_scores_as_py3langid(tmp_path, monkeypatch):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from drugwatch.text import language

    monkeypatch.setenv("DRUGWATCH_HOME", str(tmp_path / "home"))
    language._identifier.cache_clear()
    try:
        built = language._identifier()
        (cached,) = (tmp_path / "home" / "cache").glob("py3langid-*.marshal")
        language._identifier.cache_clear()
        read_back = language._identifier()
        reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
        reference.set_languages([code for code in LANGUAGES if code in set(reference.nb_classes)])
        texts = [
            "vendo cocaína, escríbeme",
            "verkaufe gras, schreib mir",
            "продаю, пишите в телеграм",
            "hello there",
            "x",
        ]
        for text in texts:
            expected = reference._decide(text)
            assert (built._decide(text) == expected).all()
            assert (read_back._decide(text) == expected).all()
        assert read_back.nb_classes == reference.nb_classes
        assert cached.exists()
    finally:
        language._identifier.cache_clear()
