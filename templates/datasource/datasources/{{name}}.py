from collections.abc import Generator, Mapping
from typing import Any

from dify_plugin.entities.datasource import (
    DatasourceGetPagesResponse,
    DatasourceMessage,
    GetOnlineDocumentPageContentRequest,
    OnlineDocumentInfo,
    OnlineDocumentPage,
)
from dify_plugin.interfaces.datasource.online_document import OnlineDocumentDatasource

WORKSPACE_ID = "example-workspace"

# Sample pages so the plugin works end to end. Replace them with calls to your service's API,
# authenticated with self.runtime.credentials["api_key"].
SAMPLE_PAGES: dict[str, dict[str, str]] = {
    "welcome": {
        "title": "Welcome",
        "edited": "2026-01-05T09:00:00Z",
        "content": "Welcome to the example workspace. Each page becomes a document in Dify.",
    },
    "faq": {
        "title": "Frequently asked questions",
        "edited": "2026-01-12T15:30:00Z",
        "content": "Q: What is this?\nA: Sample content served by a Dify datasource plugin.",
    },
}


class {{class_name}}Datasource(OnlineDocumentDatasource):
    def _get_pages(self, datasource_parameters: Mapping[str, Any]) -> DatasourceGetPagesResponse:
        """Lists the pages the user can pick, grouped by workspace."""
        title_filter = str(datasource_parameters.get("title_filter") or "").lower()
        pages = [
            OnlineDocumentPage(
                page_id=page_id,
                page_name=page["title"],
                page_icon=None,
                type="page",
                last_edited_time=page["edited"],
                parent_id=None,
            )
            for page_id, page in SAMPLE_PAGES.items()
            if title_filter in page["title"].lower()
        ]
        workspace = OnlineDocumentInfo(
            workspace_id=WORKSPACE_ID,
            workspace_name="Example workspace",
            workspace_icon="",
            total=len(pages),
            pages=pages,
        )
        return DatasourceGetPagesResponse(result=[workspace])

    def _get_content(
        self, page: GetOnlineDocumentPageContentRequest
    ) -> Generator[DatasourceMessage, None, None]:
        """Returns one page's text, as the variables declared in output_schema."""
        sample = SAMPLE_PAGES.get(page.page_id)
        if sample is None:
            raise ValueError(f"Page {page.page_id} was not found.")
        yield self.create_variable_message("workspace_id", page.workspace_id)
        yield self.create_variable_message("page_id", page.page_id)
        yield self.create_variable_message("content", f"# {sample['title']}\n\n{sample['content']}")
