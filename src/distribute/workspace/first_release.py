"""The words of the example release `distribute init` writes, in the workspace's language.

A comms team in Berlin or Seoul starts from a release in its own language: the headline, summary
and body below are what `init --language de` (or ko, ja, …) puts in releases/first-release.md.
`{name}` is the organisation, `{website}` its website. A language not here gets English; the
languages are those the built-in catalogs carry (src/distribute/locale/).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Words:
    title: str  # "{name}: …"
    summary: str
    lead: str  # the first paragraph: it opens the wire copy after the dateline
    markdown: str  # the second paragraph, with a [link]({website})
    check: str  # "… checks it for every channel"
    show: str  # "… shows what each channel would send"


WORDS: dict[str, Words] = {
    "en": Words(
        "{name}: the headline of your first release",
        "One or two sentences for previews, feeds and social posts: what is new, and why it matters.",
        "This is an example release of {name}: replace this text with yours. The first paragraph\n"
        "is the lead; it opens the wire copy after the dateline.",
        "Write the body in **Markdown**: paragraphs, [links]({website}), lists and quotes. The\n"
        '"About" paragraph (boilerplate) and the media contacts are added at the end by each channel.',
        "checks it for every channel",
        "shows what each channel would send",
    ),
    "de": Words(
        "{name}: die Schlagzeile Ihrer ersten Pressemitteilung",
        "Ein oder zwei Sätze für Vorschauen, Feeds und soziale Netzwerke: was neu ist und warum es zählt.",
        "Dies ist eine Beispiel-Pressemitteilung von {name}: Ersetzen Sie diesen Text durch Ihren.\n"
        "Der erste Absatz ist der Vorspann; er eröffnet die Agenturmeldung nach der Ortsmarke.",
        "Schreiben Sie den Text in **Markdown**: Absätze, [Links]({website}), Listen und Zitate.\n"
        "Den Absatz „Über …“ (Boilerplate) und die Pressekontakte fügt jeder Kanal am Ende an.",
        "prüft sie für jeden Kanal",
        "zeigt, was jeder Kanal senden würde",
    ),
    "fr": Words(
        "{name} : le titre de votre premier communiqué",
        "Une ou deux phrases pour les aperçus, les flux et les réseaux sociaux : ce qui est nouveau, et pourquoi cela compte.",
        "Ceci est un exemple de communiqué de {name} : remplacez ce texte par le vôtre. Le premier\n"
        "paragraphe est le chapeau ; il ouvre la dépêche après la ligne de date.",
        "Rédigez le texte en **Markdown** : paragraphes, [liens]({website}), listes et citations.\n"
        "Le paragraphe « À propos » et les contacts presse sont ajoutés à la fin par chaque canal.",
        "le vérifie pour chaque canal",
        "montre ce que chaque canal enverrait",
    ),
    "es": Words(
        "{name}: el titular de su primer comunicado",
        "Una o dos frases para vistas previas, feeds y redes sociales: qué hay de nuevo y por qué importa.",
        "Este es un comunicado de ejemplo de {name}: sustituya este texto por el suyo. El primer\n"
        "párrafo es la entradilla; abre el despacho de agencia tras la data.",
        "Escriba el texto en **Markdown**: párrafos, [enlaces]({website}), listas y citas. Cada canal\n"
        "añade al final el párrafo «Acerca de» y los contactos de prensa.",
        "lo comprueba para cada canal",
        "muestra lo que enviaría cada canal",
    ),
    "it": Words(
        "{name}: il titolo del vostro primo comunicato",
        "Una o due frasi per anteprime, feed e social network: che cosa c'è di nuovo e perché conta.",
        "Questo è un comunicato di esempio di {name}: sostituite questo testo con il vostro. Il primo\n"
        "paragrafo è l'attacco; apre il lancio d'agenzia dopo la località.",
        "Scrivete il testo in **Markdown**: paragrafi, [link]({website}), elenchi e citazioni. Ogni\n"
        "canale aggiunge in fondo il paragrafo «Chi siamo» e i contatti stampa.",
        "lo controlla per ogni canale",
        "mostra che cosa invierebbe ogni canale",
    ),
    "pt": Words(
        "{name}: o título do seu primeiro comunicado",
        "Uma ou duas frases para pré-visualizações, feeds e redes sociais: o que há de novo e por que importa.",
        "Este é um comunicado de exemplo de {name}: substitua este texto pelo seu. O primeiro\n"
        "parágrafo é o lide; ele abre o texto de agência depois da linha de data.",
        "Escreva o texto em **Markdown**: parágrafos, [links]({website}), listas e citações. Cada\n"
        "canal acrescenta no fim o parágrafo “Sobre” e os contatos de imprensa.",
        "verifica-o para cada canal",
        "mostra o que cada canal enviaria",
    ),
    "nl": Words(
        "{name}: de kop van uw eerste persbericht",
        "Een of twee zinnen voor voorbeelden, feeds en sociale media: wat er nieuw is en waarom het ertoe doet.",
        "Dit is een voorbeeldpersbericht van {name}: vervang deze tekst door de uwe. De eerste alinea\n"
        "is de lead; die opent het persbureaubericht na de plaatsnaam.",
        "Schrijf de tekst in **Markdown**: alinea's, [links]({website}), lijsten en citaten. Elk\n"
        "kanaal voegt aan het eind de alinea ‘Over …’ en de perscontacten toe.",
        "controleert het voor elk kanaal",
        "toont wat elk kanaal zou versturen",
    ),
    "ko": Words(
        "{name}: 첫 보도자료의 제목",
        "미리보기, 피드, 소셜 게시물에 쓰일 한두 문장: 무엇이 새롭고 왜 중요한지.",
        "이것은 {name}의 예시 보도자료입니다. 이 글을 여러분의 글로 바꾸세요. 첫 단락은\n"
        "리드이며, 통신 기사에서 발신지 뒤에 가장 먼저 나옵니다.",
        "본문은 **마크다운**으로 씁니다: 단락, [링크]({website}), 목록, 인용. 기관 소개 단락과\n"
        "언론 문의처는 각 채널이 끝에 덧붙입니다.",
        "모든 채널에 대해 검사합니다",
        "각 채널이 보낼 내용을 보여 줍니다",
    ),
    "ja": Words(
        "{name}：初めてのプレスリリースの見出し",
        "プレビュー、フィード、ソーシャル投稿に使う一、二文：何が新しく、なぜ重要か。",
        "これは{name}のプレスリリースの例です。この文章をご自身のものに置き換えてください。\n"
        "最初の段落はリードで、通信社向け原稿ではクレジットの直後に置かれます。",
        "本文は**Markdown**で書きます。段落、[リンク]({website})、箇条書き、引用が使えます。\n"
        "団体概要の段落と報道関係者向けの連絡先は、各チャンネルが末尾に加えます。",
        "すべてのチャンネルについて検査します",
        "各チャンネルが送る内容を表示します",
    ),
    "zh": Words(
        "{name}：您第一篇新闻稿的标题",
        "用于预览、订阅源和社交媒体的一两句话：有什么新消息，为什么重要。",
        "这是{name}的一篇示例新闻稿：请用您自己的文字替换。第一段是导语，\n在通讯稿中紧跟电头之后。",
        "正文用 **Markdown** 书写：段落、[链接]({website})、列表和引文。机构简介段落和\n媒体联系人由各渠道附在末尾。",
        "针对每个渠道进行检查",
        "显示每个渠道将发送的内容",
    ),
    "ar": Words(
        "{name}: عنوان بيانك الصحفي الأول",
        "جملة أو جملتان للمعاينات والخلاصات ومنشورات التواصل الاجتماعي: ما الجديد ولماذا يهم.",
        "هذا بيان صحفي تجريبي من {name}: استبدل هذا النص بنصك. الفقرة الأولى هي المقدمة،\n"
        "وهي تفتتح نص الوكالة بعد سطر المكان والتاريخ.",
        "اكتب النص بلغة **Markdown**: فقرات و[روابط]({website}) وقوائم واقتباسات. تضيف كل قناة\n"
        "في النهاية فقرة «نبذة عن» وجهات الاتصال الإعلامية.",
        "يتحقق منه لكل قناة",
        "يعرض ما سترسله كل قناة",
    ),
}


def words_for(language: str) -> Words:
    """The example's words in `language` (a BCP 47 tag; its primary subtag decides), else English."""
    return WORDS.get(language.split("-")[0].lower(), WORDS["en"])
